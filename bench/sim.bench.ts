/**
 * Simulator throughput at 64 connections, non-streaming and streaming chat
 * completions, next to minimal node:http servers answering a fixed body of the
 * same size in the same run. Target: the simulator at >= 80% of the baseline.
 *
 * Two baselines: "bare" sends the body with a content-type only; "same
 * headers" sends it with the header set the simulator sends (rate limits,
 * request id, …). The load generator parses every header in JavaScript on the
 * same machine, so those headers cost throughput whoever sends them (the real
 * API sends them too); the "same headers" baseline isolates what the
 * simulator's own work costs, and the target applies to it. Both ratios are
 * printed.
 *
 * Each server runs in its own thread; short runs alternate and each server's
 * best round counts (the first round also warms up the JIT): on a shared
 * machine, each gets its chances at a quiet moment. The table also shows the
 * server thread's CPU time per request (of that best round), a figure less
 * sensitive to the load generator sharing the machine.
 * BENCH_DURATION (s) and BENCH_ROUNDS change the run length and count.
 * Run alone with `node bench/run.ts sim` (or `node bench/sim.bench.ts`).
 */
import { runLoad, type LoadResult } from "./lib/load.ts";
import { startBaseline, startSimThread, type ThreadServer } from "./lib/servers.ts";
import { printTable } from "./lib/table.ts";

const KEY = "sk-bench-0000000000000000000000001";
const DURATION_S = Number(process.env.BENCH_DURATION ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CONNECTIONS = 64;
const TARGET = 0.8;

const MESSAGES = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "Write one sentence about load testing an upstream simulator." },
];
const JSON_BODY = JSON.stringify({ model: "gpt-4o-mini", messages: MESSAGES });
const STREAM_BODY = JSON.stringify({ model: "gpt-4o-mini", messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
const HEADERS = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
/** Headers node:http writes itself. */
const TRANSPORT_HEADERS = new Set(["date", "connection", "keep-alive", "transfer-encoding", "content-length"]);

interface Measured extends LoadResult {
  /** Server thread CPU per request, µs. */
  readonly cpuPerRequest: number;
}

interface Sample {
  readonly text: string;
  readonly type: string;
  /** The simulator's answer headers as a flat list, transport headers left out. */
  readonly headers: string[];
}

async function sample(url: string, body: string): Promise<Sample> {
  const res = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: HEADERS, body });
  if (res.status !== 200) throw new Error(`simulator answered ${res.status}: ${await res.text()}`);
  const headers: string[] = [];
  for (const [name, value] of res.headers) if (!TRANSPORT_HEADERS.has(name)) headers.push(name, value);
  return { text: await res.text(), type: res.headers.get("content-type") ?? "application/json", headers };
}

async function measure(server: ThreadServer, body: string): Promise<Measured> {
  const cpuBefore = await server.cpu();
  const result = await runLoad({
    url: `${server.url}/v1/chat/completions`,
    method: "POST",
    headers: HEADERS,
    body,
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  const cpu = (await server.cpu()) - cpuBefore;
  return { ...result, cpuPerRequest: result.requests > 0 ? cpu / result.requests : 0 };
}

function best(a: Measured | undefined, b: Measured): Measured {
  return a === undefined || b.rps > a.rps ? b : a;
}

interface Comparison {
  readonly bare: Measured;
  readonly same: Measured;
  readonly simulated: Measured;
  readonly size: number;
}

/** The two baselines and the simulator in turn, ROUNDS times. */
async function compare(sim: ThreadServer, body: string, chunked: boolean): Promise<Comparison> {
  const answer = await sample(sim.url, body);
  const bareServer = await startBaseline(answer.text, ["content-type", answer.type], chunked);
  const sameServer = await startBaseline(answer.text, answer.headers, chunked);
  try {
    let bare: Measured | undefined;
    let same: Measured | undefined;
    let simulated: Measured | undefined;
    for (let round = 0; round < ROUNDS; round++) {
      bare = best(bare, await measure(bareServer, body));
      same = best(same, await measure(sameServer, body));
      simulated = best(simulated, await measure(sim, body));
    }
    return { bare: bare!, same: same!, simulated: simulated!, size: Buffer.byteLength(answer.text) };
  } finally {
    await bareServer.close();
    await sameServer.close();
  }
}

const percent = (ratio: number): string => `${Math.round(ratio * 100)}%`;

export async function run(): Promise<void> {
  const sim = await startSimThread({ keys: { [KEY]: "ok" } });
  try {
    const results = [
      ["chat JSON", await compare(sim, JSON_BODY, false)],
      ["chat stream", await compare(sim, STREAM_BODY, true)],
    ] as const;
    const rows: Array<Array<string | number>> = [];
    let worst = Infinity;
    for (const [label, r] of results) {
      const ratio = r.simulated.rps / r.same.rps;
      worst = Math.min(worst, ratio);
      const errors = (m: Measured): number => m.errors + m.non2xx;
      const row = (name: string, m: Measured, vs: string): Array<string | number> => [
        name,
        label,
        m.rps,
        m.p50,
        m.p99,
        m.cpuPerRequest,
        vs,
        errors(m),
      ];
      rows.push(row(`baseline, bare (${r.size} B)`, r.bare, ""));
      rows.push(row("baseline, same headers", r.same, ""));
      rows.push(row("simulator", r.simulated, `${percent(ratio)} (bare ${percent(r.simulated.rps / r.bare.rps)})`));
    }
    printTable(
      `simulator vs node:http baselines: ${CONNECTIONS} connections, ${DURATION_S} s runs, best of ${ROUNDS}`,
      ["server", "answer", "req/s", "p50 ms", "p99 ms", "cpu µs/req", "vs baseline", "errors"],
      rows,
    );
    const verdict = worst >= TARGET ? "meets" : "MISSES";
    process.stdout.write(`worst ratio to the same-headers baseline ${percent(worst)}: ${verdict} the ${percent(TARGET)} target\n`);
  } finally {
    await sim.close();
  }
}

if (import.meta.main) await run();
