/**
 * Two (or more) gateways side by side: each `keypool serve` under its own
 * load at the same time, on one simulator, so a neighbour's load on this
 * shared machine hits them alike. The measure is each gateway's CPU time per
 * request (from /proc, all its threads): between two identical gateways it
 * agrees within 2–3 %, where requests per second from runs minutes apart
 * differ by 10–40 %. This is how the README's "side by side" figures were
 * taken.
 *
 *   node bench/side-by-side.ts
 *
 * SBS_BINS        bin/keypool.ts of each gateway, comma-separated (default: this
 *                 checkout's, twice; another checkout's to compare builds)
 * SBS_ENV_<i>     extra environment of gateway i, `K=V;K=V` (e.g.
 *                 `SBS_ENV_1=KEYPOOL_BUSY_POLL_US=300` or `KEYPOOL_LOG_LEVEL=warn`)
 * SBS_NODE_ARGS_<i>  extra node flags of gateway i (e.g. `--max-semi-space-size=8`)
 * SBS_CONNECTIONS total connections, shared out (default 64)
 * SBS_ROUNDS, SBS_SECONDS  measured rounds and their length (default 3 × 5 s)
 * SBS_STREAM=1    streamed chat completions instead of JSON
 *
 * Swap the gateways' places in a second run: the first-started one can come
 * out a few per cent apart.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { maskSecret } from "../src/util/mask.ts";
import { cpuOf, KEYPOOL_BIN, rssMb, runCli, startChild } from "./lib/processes.ts";

interface AutocannonResult {
  requests: { total: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (opts: Record<string, unknown>) => PromiseLike<AutocannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const BINS = (process.env.SBS_BINS ?? `${KEYPOOL_BIN},${KEYPOOL_BIN}`).split(",").filter((b) => b !== "");
const CONNECTIONS = Number(process.env.SBS_CONNECTIONS ?? 64);
const ROUNDS = Number(process.env.SBS_ROUNDS ?? 3);
const SECONDS = Number(process.env.SBS_SECONDS ?? 5);
const STREAM = process.env.SBS_STREAM === "1";
const KEYS = Array.from({ length: 8 }, (_, i) => `sk-sbs-${String(i).padStart(24, "0")}`);

function envOf(i: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (process.env[`SBS_ENV_${i}`] ?? "").split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

/** A gateway's extra environment as printed: values of secret-looking names (KEYPOOL_ADMIN_TOKEN, KEYPOOL_KEYS, ...) masked. */
function shown(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => ` ${k}=${/(?:^|_)(?:TOKEN|KEYS?|SECRET|PASSWORD)(?:_|$)/i.test(k) ? v.split(",").map(maskSecret).join(",") : v}`)
    .join("");
}

const dir = mkdtempSync(join(tmpdir(), "keypool-sbs-"));
const sim = await startChild(["sim", "--port", "0", ...KEYS.flatMap((k) => ["--key", `${k}=ok`])], {}, [], [BINS[0]!]);
const gateways: { name: string; url: string; token: string; proc: ChildProcess }[] = [];
try {
  for (const [i, bin] of BINS.entries()) {
    const env = { KEYPOOL_STORE: `sqlite:${join(dir, `gw${i}.db`)}`, KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: KEYS.join(","), KEYPOOL_HEALTH_INTERVAL_MS: "0", ...envOf(i) };
    const token = await runCli(["tokens", "add", "--name", "sbs"], env, bin);
    const nodeArgs = (process.env[`SBS_NODE_ARGS_${i}`] ?? "").split(" ").filter((a) => a !== "");
    const gw = await startChild(["serve", "--port", "0"], env, nodeArgs, [bin]);
    gateways.push({ name: `gw${i}`, url: gw.url, token, proc: gw.proc });
    console.log(`gw${i}: ${bin}${shown(envOf(i))}${nodeArgs.length > 0 ? ` node ${nodeArgs.join(" ")}` : ""}`);
  }
  const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "side by side" }], ...(STREAM ? { stream: true } : {}) });
  const load = (g: (typeof gateways)[number], connections: number, duration: number): PromiseLike<AutocannonResult> =>
    autocannon({ url: `${g.url}/v1/chat/completions`, method: "POST", headers: { authorization: `Bearer ${g.token}`, "content-type": "application/json" }, body, connections, duration });
  // Each warmed alone first: a gateway reaches its steady state only after several seconds of load.
  for (const g of gateways) await load(g, CONNECTIONS, 8);
  const share = Math.max(1, Math.round(CONNECTIONS / gateways.length));
  const totals = gateways.map(() => ({ requests: 0, cpu: 0, errors: 0 }));
  console.log(`${ROUNDS} rounds of ${SECONDS} s, ${share} connections each, ${STREAM ? "streamed" : "JSON"} chat completions`);
  for (let r = 0; r < ROUNDS; r++) {
    const cpu0 = gateways.map((g) => cpuOf(g.proc.pid!));
    const results = await Promise.all(gateways.map((g) => load(g, share, SECONDS)));
    const parts = gateways.map((g, i) => {
      const res = results[i]!;
      const cpu = cpuOf(g.proc.pid!) - cpu0[i]!;
      totals[i]!.requests += res.requests.total;
      totals[i]!.cpu += cpu;
      totals[i]!.errors += res.non2xx + res.errors;
      return `${g.name} ${(res.requests.total / SECONDS).toFixed(0)} req/s ${(cpu / Math.max(1, res.requests.total)).toFixed(1)} µs/req`;
    });
    console.log(`round ${r + 1}: ${parts.join(" | ")}`);
  }
  console.log(`all rounds: ${gateways.map((g, i) => `${g.name} ${(totals[i]!.cpu / Math.max(1, totals[i]!.requests)).toFixed(1)} µs/req, ${totals[i]!.errors} errors, RSS peak ${rssMb(g.proc.pid!).peak.toFixed(0)} MB`).join(" | ")}`);
} finally {
  for (const g of gateways) g.proc.kill("SIGTERM");
  sim.proc.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
