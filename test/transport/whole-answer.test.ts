/**
 * A success that came whole with its head is handed over as an object of a
 * class with fast properties, its body getter on the prototype. An object
 * literal with a `get body()` closing over the answer was made in dictionary
 * mode with an old-generation accessor pair: every young collection kept the
 * answer and the request's frames alive until a full collection (under load,
 * several full collections a second and ~15 % of the gateway's CPU).
 */
import assert from "node:assert/strict";
import { text } from "node:stream/consumers";
import { after, before, test } from "node:test";
import { createPool } from "../../src/create-pool.ts";
import type { Pool } from "../../src/pool/pool.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { dispatch } from "../../src/transport/dispatch.ts";
import { runModuleScript, srcImport } from "../helpers/module-script.ts";

const KEY = "sk-whole-00000000000000000000001";
const BODY = Buffer.from(JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] }));

let sim: Simulator;
let pool: Pool;

before(async () => {
  sim = await startSimulator({ keys: { [KEY]: "ok" } });
  pool = await createPool({ upstream: `${sim.url}/v1`, keys: [KEY], health: false, store: "memory" });
});

after(async () => {
  await pool?.close();
  await sim?.close();
});

const request = () => ({ method: "POST", path: "/chat/completions", headers: [["content-type", "application/json"]] as [string, string][], body: BODY, model: "gpt-4o-mini" });

test("a whole answer's body getter is its class's, not its own, and reads the same bytes", async () => {
  const a = await dispatch(pool, pool.dispatchers!, request());
  const b = await dispatch(pool, pool.dispatchers!, request());
  assert.ok(a.whole !== null && b.whole !== null, "the simulator's answer came whole with its head");
  for (const d of [a, b]) {
    assert.equal(Object.getOwnPropertyDescriptor(d, "body"), undefined, "no own accessor (a literal's getter made a dictionary-mode object)");
    assert.equal(Object.getPrototypeOf(d), Object.getPrototypeOf(a), "one class for every whole answer");
    assert.equal(await text(d.body as import("node:stream").Readable), d.whole!.toString("utf8"));
  }
  assert.ok(((await a.usage)?.promptTokens ?? 0) > 0, "its usage was read at the head");
});

test("a whole answer has fast properties (V8's own view, in a child process)", async () => {
  const src = srcImport;
  const script = `
    const { createPool } = await import(${src("create-pool.ts")});
    const { dispatch } = await import(${src("transport/dispatch.ts")});
    const pool = await createPool({ upstream: ${JSON.stringify(`${sim.url}/v1`)}, keys: [${JSON.stringify(KEY)}], health: false, store: "memory" });
    const req = { method: "POST", path: "/chat/completions", headers: [["content-type", "application/json"]], body: Buffer.from(${JSON.stringify(BODY.toString())}), model: "gpt-4o-mini" };
    const out = [];
    for (let i = 0; i < 3; i++) { const d = await dispatch(pool, pool.dispatchers, req); out.push({ whole: d.whole !== null, fast: %HasFastProperties(d) }); }
    console.log(JSON.stringify(out));
    await pool.close();`;
  const { code, out } = await runModuleScript(script, { nodeArgs: ["--allow-natives-syntax"], timeoutMs: 15_000 });
  assert.equal(code, 0, out);
  assert.deepEqual(JSON.parse(out), Array.from({ length: 3 }, () => ({ whole: true, fast: true })));
});
