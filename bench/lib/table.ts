/** Prints rows as an aligned text table; numbers are right-aligned. */
export function printTable(title: string, header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? formatNumber(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === "number" || /^[\d.,%]+$/.test(String(r[i] ?? ""))));
  const line = (r: ReadonlyArray<string | number>): string =>
    r.map((c, i) => (numeric[i] ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!))).join("  ").trimEnd();
  process.stdout.write(`\n${title}\n${line(cells[0]!)}\n${widths.map((w) => "-".repeat(w)).join("  ")}\n`);
  for (const r of cells.slice(1)) process.stdout.write(`${line(r)}\n`);
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2);
}
