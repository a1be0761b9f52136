/**
 * The README's configuration reference against the code: every environment
 * variable the sources read, every flag of `keypool serve`, every field of its
 * config file and every option of `createPool` is documented.
 */
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT, cleanEnv, runOk } from "../package/helpers.ts";

const README = await readFile(join(ROOT, "README.md"), "utf8");
const section = (title: string): string => {
  const start = README.indexOf(`## ${title}`);
  assert.ok(start >= 0, `README has "## ${title}"`);
  const end = README.indexOf("\n## ", start + 4);
  return README.slice(start, end < 0 ? README.length : end);
};
const missing = (names: Iterable<string>, text: string): string[] => [...new Set(names)].filter((n) => !text.includes(`\`${n}\``)).sort();

async function sources(dir: string): Promise<string> {
  let text = "";
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith(".ts")) text += await readFile(join(e.parentPath, e.name), "utf8");
  }
  return text;
}

test("every KEYPOOL_* variable the sources read is in the configuration reference", async () => {
  const vars = (await sources(join(ROOT, "src"))).match(/\bKEYPOOL_[A-Z_]+[A-Z]\b/g) ?? [];
  assert.ok(vars.length > 5);
  assert.deepEqual(missing(vars, section("Configuration")), []);
});

test("every flag and config-file field of keypool serve is in the gateway's table, with the same default", async () => {
  const help = (await runOk(process.execPath, [join(ROOT, "bin", "keypool.ts"), "serve", "--help"], { env: cleanEnv() })).stdout;
  const flags = help.match(/--[a-z][a-z-]+/g)!.filter((f) => f !== "--help");
  const table = section("Configuration");
  assert.deepEqual(missing(flags, table), []);
  // The help's own table, after its header row: "--flag  ENV  field  default"; each field and default are in the README's row.
  const rows = help.split("\n");
  const header = rows.findIndex((l) => /^\s+flag\s+environment\s+config file\s+default$/.test(l));
  assert.ok(header > 0, "serve --help has its configuration table");
  let fields = 0;
  for (const line of rows.slice(header + 1)) {
    if (line.trim() === "") break;
    const cells = line.trim().split(/\s{2,}/);
    const field = cells.find((c) => /^[a-z][A-Za-z]*$/.test(c));
    assert.ok(field !== undefined, `a config field in "${line}"`);
    fields++;
    const row = table.split("\n").find((l) => l.includes(`\`${field}\``));
    assert.ok(row !== undefined, `config field ${field} in the README`);
    const fallback = cells[cells.indexOf(field) + 1];
    if (fallback !== undefined && /^[\w.:/-]+$/.test(fallback)) assert.ok(row.includes(fallback), `${field}: default ${fallback} in "${row}"`);
  }
  assert.ok(fields >= 17, `${fields} config fields`);
});

test("every option of createPool and of its policy is in the library's table", async () => {
  const text = await readFile(join(ROOT, "src", "pool", "options.ts"), "utf8");
  const body = /export interface PoolOptions \{([\s\S]*?)\n\}/.exec(text)![1]!;
  const options = [...body.matchAll(/^\s+(\w+)\?:/gm)].map((m) => m[1]!);
  assert.ok(options.length > 10);
  const policy = [...(await readFile(join(ROOT, "src", "pool", "policy.ts"), "utf8")).matchAll(/^\s+(\w+): [^;]+;$/gm)].map((m) => m[1]!);
  assert.ok(policy.length > 5);
  const library = section("The library");
  assert.deepEqual(missing([...options, ...policy], library), []);
});
