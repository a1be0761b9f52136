/** Plain text tables for listings: padded columns, long cells cut with an ellipsis. */
export interface Column<T> {
  title: string;
  value: (row: T) => string;
  /** Longest cell before it is cut (default 40). */
  max?: number;
  align?: "left" | "right";
}

export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((r) =>
    columns.map((c) => {
      const v = c.value(r).replace(/\s+/g, " ");
      const max = c.max ?? 40;
      return v.length > max ? `${v.slice(0, max - 1)}…` : v;
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => (columns[i]!.align === "right" ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...cells.map(line)].join("\n") + "\n";
}

/** `3m ago`, `2h ago`, `5d ago`, or `-` for never. */
export function ago(t: number | null, now: number = Date.now()): string {
  if (t === null || t === 0) return "-";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}
