/**
 * Pool benchmarks: selection cost with 10, 1,000 and 100,000 keys (must stay
 * flat), and pool.fetch against a plain fetch to the simulator in the same run.
 * Run alone with `node bench/pool.bench.ts`.
 */
import { CandidateIndex } from "../src/pool/selection/candidate-index.ts";
import { STRATEGIES, type StrategyName } from "../src/pool/selection/strategies.ts";
import { newCredentialRecord } from "../src/pool/credential-record.ts";
import { createPool } from "../src/create-pool.ts";
import { startSimThread } from "./lib/servers.ts";
import { printTable } from "./lib/table.ts";

const SIZES = [10, 1_000, 100_000];

function selectionCost(strategy: StrategyName, keys: number, ops: number): number {
  let turn = 0;
  const index = new CandidateIndex({ strategy, deps: { rng: Math.random, nextTurn: () => turn++, now: Date.now } });
  for (let i = 0; i < keys; i++) index.upsert(newCredentialRecord({ secret: `sk-bench-${String(i).padStart(12, "0")}` }, "salt", 0));
  const timed = (n: number): number => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const e = index.pick("gpt-4o-mini", null)!;
      index.started(e, "gpt-4o-mini");
      index.finished(e);
    }
    return Number(process.hrtime.bigint() - t) / n;
  };
  timed(Math.min(ops, 20_000)); // warm up
  return Math.min(timed(ops), timed(ops));
}

export async function selectionBench(): Promise<void> {
  const rows = STRATEGIES.map((strategy) => {
    const costs = SIZES.map((n) => selectionCost(strategy, n, 200_000));
    return [strategy, ...costs.map((c) => Math.round(c)), `×${(costs[2]! / costs[0]!).toFixed(2)}`];
  });
  printTable(
    "Selection: pick + start + finish, ns per request (no network; flat in the pool size is the target)",
    ["strategy", ...SIZES.map((n) => `${n.toLocaleString("en-US")} keys`), "100k / 10"],
    rows,
  );
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
}

async function drive(doFetch: () => Promise<Response>, connections: number, durationMs: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const end = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const res = await doFetch();
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { rps: latencies.length / (durationMs / 1000), p50: at(0.5), p99: at(0.99) };
}

export async function fetchBench(durationMs = 4000): Promise<void> {
  const keys = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`sk-bench-${String(i).padStart(24, "0")}`, "ok"]));
  const sim = await startSimThread({ keys }); // its own thread: the client side is what we measure
  const pool = await createPool({ upstream: `${sim.url}/v1`, keys: Object.keys(keys), health: false });
  const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "benchmark" }] });
  const url = `${sim.url}/v1/chat/completions`;
  const plain = () => fetch(url, { method: "POST", headers: { authorization: `Bearer ${Object.keys(keys)[0]}`, "content-type": "application/json" }, body });
  const pooled = () => pool.fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  try {
    const rows: (string | number)[][] = [];
    for (const connections of [1, 64]) {
      await drive(plain, connections, 500);
      await drive(pooled, connections, 500);
      const a = await drive(plain, connections, durationMs);
      const b = await drive(pooled, connections, durationMs);
      rows.push([connections, "fetch", Math.round(a.rps), a.p50.toFixed(3), a.p99.toFixed(3)]);
      rows.push([connections, "pool.fetch", Math.round(b.rps), b.p50.toFixed(3), b.p99.toFixed(3)]);
      rows.push([connections, "pooled / plain", `${((b.rps / a.rps) * 100).toFixed(0)}%`, `+${(b.p50 - a.p50).toFixed(3)}`, `+${(b.p99 - a.p99).toFixed(3)}`]);
    }
    printTable("pool.fetch vs a plain fetch to the simulator (same run, same client process, non-streaming chat completions, 8 keys)", ["connections", "client", "req/s", "p50 ms", "p99 ms"], rows);
  } finally {
    await pool.close();
    await sim.close();
  }
}

export async function run(): Promise<void> {
  await selectionBench();
  await fetchBench();
}

if (import.meta.main) await run();
