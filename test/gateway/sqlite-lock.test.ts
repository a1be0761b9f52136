/**
 * Another process holding the SQLite write lock (a big `keys add` from the CLI) does not
 * stall the gateway: a request-path write waits a few milliseconds, not the busy timeout,
 * the answer goes out, and the usage is stored once the lock is free.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { chat, harness, key } from "./helpers.ts";

/** A process that takes the write lock, holds it for `ms`, and prints the time it let go. */
const HOLDER = `
const { DatabaseSync } = require("node:sqlite");
const db = new DatabaseSync(process.argv[1]);
db.exec("BEGIN IMMEDIATE");
process.stdout.write("locked\\n");
setTimeout(() => { db.exec("ROLLBACK"); process.stdout.write("released " + Date.now() + "\\n"); db.close(); }, Number(process.argv[2]));
`;

it("answers while another process holds the SQLite write lock, and stores the usage after", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "keypool-lock-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "keypool.db");
  const h = await harness({ [key("lock")]: "ok" }, { pool: { store: `sqlite:${path}` } });
  t.after(() => h.close());
  await chat(h.client()); // warm: the usage tables exist, the connection is open

  const holder = spawn(process.execPath, ["-e", HOLDER, path, "2500"], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => holder.once("exit", resolve)); // before anything can block: it may exit meanwhile
  let out = "";
  holder.stdout.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve) => holder.stdout.on("data", () => out.includes("locked") && resolve()));

  const r = await chat(h.client(), "gpt-4o-mini", "while locked");
  const answeredAt = Date.now();
  await exited;
  const releasedAt = Number(/released (\d+)/.exec(out)?.[1]);
  assert.ok(answeredAt < releasedAt, `answered ${releasedAt - answeredAt} ms before the lock was released, not after it`);

  // Queued while the store was busy, written by the retry once it is free.
  const expected = r.usage!.prompt_tokens;
  for (let i = 0; i < 50; i++) {
    const rows = await h.pool.usage({ groupBy: ["credential"] });
    if (rows.reduce((n, x) => n + x.requests, 0) === 2) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const rows = await h.pool.usage({ groupBy: ["credential"] });
  assert.equal(rows.reduce((n, x) => n + x.requests, 0), 2, "both answers' usage is stored");
  assert.ok(rows.reduce((n, x) => n + x.promptTokens, 0) >= expected);
});

it("retires a dead key while another process holds the lock without stalling, and stores the change after", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "keypool-lock-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "keypool.db");
  const DEAD = key("dead", 2); // masked sk-…0002, the live one sk-…0001
  const h = await harness({ [DEAD]: "invalid", [key("live")]: "ok" }, { pool: { store: `sqlite:${path}`, strategy: "round-robin" } });
  t.after(() => h.close());
  const dead = h.pool.list().find((r) => r.key.endsWith("0002"))!;
  // No warm-up call: it could meet the dead key before the lock is taken.

  const holder = spawn(process.execPath, ["-e", HOLDER, path, "2500"], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => holder.once("exit", resolve)); // before anything can block: it may exit meanwhile
  let out = "";
  holder.stdout.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve) => holder.stdout.on("data", () => out.includes("locked") && resolve()));

  // Round-robin reaches the dead key within two calls; it fails over to the live one and is retired.
  assert.equal(h.pool.get(dead.id)?.state, "active");
  await chat(h.client(), "gpt-4o-mini", "while locked 1");
  await chat(h.client(), "gpt-4o-mini", "while locked 2");
  const answeredAt = Date.now();
  assert.equal(h.pool.get(dead.id)?.state, "retired", "this instance stops using the key at once");
  await exited;
  const releasedAt = Number(/released (\d+)/.exec(out)?.[1]);
  assert.ok(answeredAt < releasedAt, `answered ${releasedAt - answeredAt} ms before the lock was released, not after it`);

  // The state change waited in the outbox and reached the store once the lock was gone.
  const { openSqliteStore } = await import("../../src/store/sqlite/index.ts");
  const other = await openSqliteStore(path);
  t.after(() => other.close());
  for (let i = 0; i < 50 && (await other.credentials.get(dead.id))?.state !== "retired"; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal((await other.credentials.get(dead.id))?.state, "retired");
  assert.ok((await other.events.query({ credentialId: dead.id })).some((e) => e.to === "retired"), "with its audit event");
});
