/**
 * `npm start`, the README's second command, in a staged copy of the checkout
 * (so the checkout's dist/ is never rebuilt under another test): its prestart
 * builds dist/, and the gateway it starts runs from there, on the embedded
 * store, answering the pool's calls; it stops on SIGTERM.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { cleanEnv, stageCheckout, start } from "./helpers.ts";

const KEY = "sk-start-0000000000000000000001";

let sim: Simulator;
let stage: string;

before(async () => {
  sim = await startSimulator({ keys: { [KEY]: "ok" } });
  stage = await mkdtemp(join(tmpdir(), "keypool-start-"));
  await stageCheckout(stage, ["package.json", "tsconfig.json", "tsconfig.build.json", "scripts", "src", "bin"]);
});

after(async () => {
  await sim?.close();
  if (stage !== undefined) await rm(stage, { recursive: true, force: true });
});

/** Processes whose working directory is `dir`, with their command lines. */
async function processesIn(dir: string): Promise<{ pid: number; argv: string[] }[]> {
  const out: { pid: number; argv: string[] }[] = [];
  for (const pid of (await readdir("/proc")).filter((p) => /^\d+$/.test(p))) {
    try {
      if ((await readlink(`/proc/${pid}/cwd`)) !== dir) continue;
      out.push({ pid: Number(pid), argv: (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter((a) => a !== "") });
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

test("npm start builds dist/ and serves the gateway from it on the SQLite store", { timeout: 90_000, skip: process.platform !== "linux" && "reads /proc" }, async () => {
  const env = cleanEnv({ KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: KEY, KEYPOOL_STORE: `sqlite:${join(stage, "keypool.db")}`, KEYPOOL_HEALTH_INTERVAL_MS: "0" });
  const npm = await start("npm", ["start", "--", "--port", "0", "--log-level", "warn"], /listening on (http:\/\/\S+)/, { cwd: stage, env, timeoutMs: 60_000 });
  let gateway: number | undefined;
  try {
    const url = npm.match[1]!;
    const served = (await processesIn(stage)).find((p) => p.argv.includes("serve") && p.argv.some((a) => a.endsWith("dist/bin/keypool.js")));
    assert.ok(served !== undefined, `a gateway running dist/bin/keypool.js: ${JSON.stringify(await processesIn(stage))}`);
    gateway = served.pid;
    assert.ok(
      served.argv.some((a) => a.startsWith("--max-semi-space-size")),
      `in the gateway's runtime: ${served.argv.join(" ")}`,
    );
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(((await health.json()) as { store: string }).store, "sqlite");
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] }),
    });
    assert.equal(res.status, 200);
    assert.ok(((await res.json()) as { choices: unknown[] }).choices.length > 0);
  } finally {
    await npm.stop();
  }
  // npm passes SIGTERM on to the gateway, which finishes and exits.
  const end = Date.now() + 15_000;
  while (gateway !== undefined && (await processesIn(stage)).some((p) => p.pid === gateway) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const left = (await processesIn(stage)).filter((p) => p.pid === gateway);
  for (const p of left) process.kill(p.pid, "SIGKILL");
  assert.deepEqual(left, [], "the gateway stopped with npm start");
});
