/**
 * Gateway benchmark: the simulator direct vs. through `keypool serve`, in the
 * same run, with the same load generator (autocannon; per-request latencies
 * taken from its `response` events at sub-millisecond precision), 64 and 1
 * connections, non-streaming and streaming chat completions. Also the time
 * to the first streamed byte (sequential requests) and the gateway's RSS.
 *
 * Latencies come from autocannon's per-response events (`fine` in
 * bench/lib/load.ts: its own percentiles keep whole milliseconds, too coarse
 * for a sub-millisecond budget).
 *
 * The simulator and the gateway run as child processes (`keypool sim`,
 * `keypool serve`, defaults as `npm start` has them: SQLite store, info
 * logs, here with a client token), the load generator in this process. For
 * scale, a bare proxy as Node proxies are usually built (node:http in,
 * undici out, piped back; no auth, no metering) runs in the same rounds. Each target's CPU time per
 * request (from /proc) is printed too: on a shared machine it varies far
 * less than requests per second. Run alone with
 * `node bench/gateway.bench.ts`; BENCH_SECONDS (default 5) sets each run's
 * length, BENCH_ONE_CONN_SECONDS (default 10) each target's time at one
 * connection, in 5 alternating rounds, BENCH_WARMUP_SECONDS (default 8) the load each target takes before
 * the first run, BENCH_STORE the gateway's store (default a temp SQLite file),
 * BENCH_GATEWAY_NODE_ARGS extra node flags for the gateway (e.g. --cpu-prof),
 * BENCH_KEYPOOL_BIN another bin for the gateway (default: this checkout's
 * dist/bin/keypool.js, built first, as `npm start` runs it; another checkout's
 * to measure a change), BENCH_BUSY_POLL_US the busy-poll setting of
 * the second gateway measured at one connection (default 0).
 *
 * At one connection a second gateway runs too, with `KEYPOOL_BUSY_POLL_US=0`,
 * to show what the default's busy-poll window buys: without it the loop
 * blocks between packets, and on this VM waking its halted vCPU is much of
 * what a gateway adds (src/gateway/http/busy-poll.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SERVE_ENV, SERVE_NODE_FLAGS } from "../src/cli/serve-runtime.ts";
import { median, pct, runLoad } from "./lib/load.ts";
import { cpuOf, rssMb, runCli, servedBin, startChild } from "./lib/processes.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** One connection's runs, in all (split into rounds). */
const ONE_CONN_SECONDS = Number(process.env.BENCH_ONE_CONN_SECONDS ?? 10);
/**
 * Load each target takes before the first measured run. The gateway reaches its steady state
 * only after several seconds of load (measured here: ~500 µs of CPU per request in its first
 * two seconds, ~330 µs from the sixth on); a long-running gateway lives in the steady state.
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 8);
/** Rounds of the one-connection runs (latencyRounds): 5 × 2 s per target by default. */
const ONE_CONN_ROUNDS = 5;
const BUSY_POLL_US = process.env.BENCH_BUSY_POLL_US ?? "0";
const KEYS = Array.from({ length: 8 }, (_, i) => `sk-bench-${String(i).padStart(24, "0")}`);

/** A bare proxy as Node proxies are usually built: node:http in, undici.request out, the answer piped back. */
const BASELINE = `
import { createServer } from "node:http";
import { createRequire } from "node:module";
const { Agent, request } = createRequire(process.argv[1])("undici");
const upstream = process.argv[2];
const agent = new Agent({ connections: 256 });
createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const r = await request(upstream + req.url.slice(3), { method: req.method, headers: { "content-type": "application/json", authorization: req.headers.authorization }, body: Buffer.concat(chunks), dispatcher: agent });
    res.writeHead(r.statusCode, { "content-type": String(r.headers["content-type"]) });
    r.body.pipe(res);
  });
}).listen(0, "127.0.0.1", function () { console.error("listening on http://127.0.0.1:" + this.address().port); });
process.on("SIGTERM", () => process.exit(0));
`;

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time of the serving process per request, microseconds. */
  cpuUs: number;
}


async function load(target: Target, body: string, connections: number, seconds: number): Promise<Load> {
  const { url, token, pid } = target;
  const cpu0 = cpuOf(pid);
  const r = await runLoad({ url: `${url}/v1/chat/completions`, method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body, connections, duration: seconds, fine: true });
  return { rps: r.rps, p50: r.p50, p99: r.p99, errors: r.non2xx + r.errors, cpuUs: (cpuOf(pid) - cpu0) / Math.max(1, r.requests) };
}

interface Target {
  name: string;
  url: string;
  token: string;
  /** The serving process (CPU accounting). */
  pid: number;
}

/**
 * One connection, where the figure is a fraction of a millisecond added to direct's: each target
 * runs ONE_CONN_ROUNDS times for ONE_CONN_SECONDS / ONE_CONN_ROUNDS (at least 1 s), the order flipping every
 * round, and its row is the median over the rounds, so a slow minute weighs on every target alike.
 */
async function latencyRounds(targets: readonly Target[], body: string): Promise<Record<string, Load>> {
  const runs = new Map<Target, Load[]>(targets.map((t) => [t, []]));
  const seconds = Math.max(1, ONE_CONN_SECONDS / ONE_CONN_ROUNDS);
  for (let r = 0; r < ONE_CONN_ROUNDS; r++) for (const t of r % 2 === 0 ? targets : targets.toReversed()) runs.get(t)!.push(await load(t, body, 1, seconds));
  return Object.fromEntries(
    [...runs].map(([t, ls]) => [t.name, { rps: median(ls.map((l) => l.rps)), p50: median(ls.map((l) => l.p50)), p99: median(ls.map((l) => l.p99)), cpuUs: median(ls.map((l) => l.cpuUs)), errors: ls.reduce((n, l) => n + l.errors, 0) }]),
  );
}

/** `n` sequential streamed requests on one kept-alive connection: each one's time to its first body byte, ms. */
async function firstBytes({ url, token }: Target, body: string, n: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(`${url}/v1/chat/completions`);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    times.push(
      await new Promise<number>((resolve, reject) => {
        const t0 = performance.now();
        let first = 0;
        const req = request(target, { method: "POST", agent, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
          res.once("data", () => (first = performance.now() - t0));
          res.on("end", () => resolve(first));
          res.resume();
        });
        req.on("error", reject);
        req.end(body);
      }),
    );
  }
  agent.destroy();
  return times;
}

/**
 * Time to the first streamed byte of each target, in rounds of 100 requests per target, the order
 * flipping every round: a machine whose speed drifts minute to minute weighs on every target alike.
 */
async function firstByteRounds(targets: readonly Target[], body: string, rounds: number): Promise<Map<Target, { p50: number; p99: number }>> {
  const all = new Map<Target, number[]>(targets.map((t) => [t, []]));
  for (const t of targets) await firstBytes(t, body, 100); // warm-up
  for (let r = 0; r < rounds; r++) for (const t of r % 2 === 0 ? targets : targets.toReversed()) all.get(t)!.push(...(await firstBytes(t, body, 100)));
  return new Map(
    [...all].map(([t, times]) => {
      times.sort((a, b) => a - b);
      return [t, { p50: pct(times, 0.5), p99: pct(times, 0.99) }];
    }),
  );
}


const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : "-");

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "keypool-bench-"));
  const store = process.env.BENCH_STORE ?? `sqlite:${join(dir, "bench.db")}`;
  const sim = await startChild(["sim", "--port", "0", ...KEYS.flatMap((k) => ["--key", `${k}=ok`])], {});
  const env = { KEYPOOL_STORE: store, KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: KEYS.join(","), KEYPOOL_HEALTH_INTERVAL_MS: "0" };
  const token = await runCli(["tokens", "add", "--name", "bench"], env);
  // `keypool serve` puts itself in its runtime (src/cli/serve-runtime.ts); the bare proxy gets the same one, for a fair floor.
  const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
  const bin = process.env.BENCH_KEYPOOL_BIN ?? servedBin();
  const gw = await startChild(["serve", "--port", "0"], env, nodeArgs, [bin]);
  // The same gateway (one store, shared as instances share it) with another busy-poll setting (off), for the one-connection rows.
  const gwPoll = await startChild(["serve", "--port", "0"], { ...env, KEYPOOL_BUSY_POLL_US: BUSY_POLL_US }, nodeArgs, [bin]);
  const base = await startChild([`${sim.url}/v1`], SERVE_ENV, [...SERVE_NODE_FLAGS], ["--input-type=module", "-e", BASELINE, fileURLToPath(new URL("../package.json", import.meta.url))]);
  const direct: Target = { name: "direct", url: sim.url, token: KEYS[0]!, pid: sim.proc.pid! };
  const through: Target = { name: "gateway", url: gw.url, token, pid: gw.proc.pid! };
  const baseline: Target = { name: "baseline", url: base.url, token: KEYS[0]!, pid: base.proc.pid! };
  const polled: Target = { name: "gw-poll", url: gwPoll.url, token, pid: gwPoll.proc.pid! };
  const targets = [direct, baseline, through];
  try {
    console.log(`\nGateway: the simulator direct vs through keypool serve (store ${store.startsWith("sqlite:") ? "sqlite" : store}, a client token, info logs), ${SECONDS} s per run`);
    console.log("baseline: a bare node:http + undici proxy, for scale (no auth, no metering, no logs)");
    console.log(`gw-poll: the gateway with KEYPOOL_BUSY_POLL_US=${BUSY_POLL_US} (${BUSY_POLL_US === "0" ? "its loop blocks between packets" : "its loop polls up to that long after traffic"}), one connection only`);
    console.log(`${"mode".padEnd(8)}${"conns".padStart(6)}  ${"target".padEnd(9)}${"req/s".padStart(9)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"cpu µs/req".padStart(12)}${"errors".padStart(8)}`);
    const rows: Record<string, Record<string, Load>> = {};
    const warmBody = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "benchmark" }] });
    for (const t of [...targets, polled]) await load(t, warmBody, 64, WARMUP_SECONDS);
    for (const stream of [false, true]) {
      const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "benchmark" }], ...(stream ? { stream: true } : {}) });
      const mode = stream ? "stream" : "json";
      for (const connections of [64, 1]) {
        const these = connections === 1 ? [...targets, polled] : targets;
        for (const t of these) await load(t, body, connections, 1); // warm up for this mode
        let row: Record<string, Load> = {};
        if (connections === 1) row = await latencyRounds(these, body);
        else for (const t of these) row[t.name] = await load(t, body, connections, SECONDS);
        rows[`${mode}${connections}`] = row;
        for (const t of these) {
          const r = row[t.name]!;
          console.log(`${mode.padEnd(8)}${String(connections).padStart(6)}  ${t.name.padEnd(9)}${f(r.rps).padStart(9)}${f(r.p50, 3).padStart(9)}${f(r.p99, 3).padStart(9)}${f(r.cpuUs).padStart(12)}${String(r.errors).padStart(8)}`);
        }
        const d = row.direct!;
        const g = row.gateway!;
        console.log(`${"".padEnd(16)}${"gw/direct".padEnd(9)}${`${f((g.rps / d.rps) * 100)}%`.padStart(9)}${`+${f(g.p50 - d.p50, 3)}`.padStart(9)}${`+${f(g.p99 - d.p99, 3)}`.padStart(9)}`);
        const p = row[polled.name];
        if (p !== undefined) console.log(`${"".padEnd(16)}${"poll/dir".padEnd(9)}${`${f((p.rps / d.rps) * 100)}%`.padStart(9)}${`+${f(p.p50 - d.p50, 3)}`.padStart(9)}${`+${f(p.p99 - d.p99, 3)}`.padStart(9)}`);
      }
    }
    const streamBody = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "benchmark" }], stream: true });
    const first = await firstByteRounds([direct, through, polled], streamBody, 5);
    const td = first.get(direct)!;
    const tg = first.get(through)!;
    const tp = first.get(polled)!;
    console.log(`time to first streamed byte (500 sequential each, in alternating rounds of 100): direct p50 ${f(td.p50, 3)} ms, gateway p50 ${f(tg.p50, 3)} ms (+${f(tg.p50 - td.p50, 3)}), p99 ${f(td.p99, 3)} / ${f(tg.p99, 3)} ms; gw-poll p50 ${f(tp.p50, 3)} ms (+${f(tp.p50 - td.p50, 3)})`);
    const mem = rssMb(gw.proc.pid!);
    console.log(`gateway RSS ${f(mem.rss)} MB now, ${f(mem.peak)} MB peak`);
    const pctOf = (k: string): string => `${f((rows[k]!.gateway!.rps / rows[k]!.direct!.rps) * 100)}%`;
    const added = (k: string, t = "gateway"): string => `+${f(rows[k]![t]!.p50 - rows[k]!.direct!.p50, 3)} ms`;
    console.log("targets:");
    console.log(`  throughput at 64 connections >= 30% of direct: json ${pctOf("json64")}, stream ${pctOf("stream64")} (baseline proxy: ${f((rows.json64!.baseline!.rps / rows.json64!.direct!.rps) * 100)}%)`);
    console.log(`  added p50 at 1 connection < 0.15 ms: json ${added("json1")}, stream ${added("stream1")}; KEYPOOL_BUSY_POLL_US=${BUSY_POLL_US}: json ${added("json1", polled.name)}, stream ${added("stream1", polled.name)}; the bare proxy, for this run's floor: json ${added("json1", "baseline")}, stream ${added("stream1", "baseline")}`);
    console.log(`  added time to first streamed byte < 0.5 ms: +${f(tg.p50 - td.p50, 3)} ms; KEYPOOL_BUSY_POLL_US=${BUSY_POLL_US}: +${f(tp.p50 - td.p50, 3)} ms`);
    console.log(`  RSS < 150 MB: ${f(mem.peak)} MB peak`);
  } finally {
    await Promise.all([gw.stop(), gwPoll.stop(), base.stop()]);
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await run();
