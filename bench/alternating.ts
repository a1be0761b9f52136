/**
 * Gateway variants in alternating rounds: each round loads the simulator
 * direct, then each variant in turn (the order flips every round), then the
 * simulator direct again, 64 connections for a few seconds each; a variant's
 * figure is its requests per second over the mean of the two direct runs
 * around it, and the median over the rounds is printed with each variant's
 * peak RSS. This is how the README's "alternating rounds" figures were taken.
 * Unlike bench/side-by-side.ts (two gateways loaded at once), it sees a
 * change that acts through the upstream (how the gateway's writes wake the
 * simulator), and it measures what the issue's target measures: throughput
 * relative to direct, on a machine whose speed drifts minute to minute.
 *
 *   node bench/alternating.ts
 *
 * ALT_VARIANTS  name|bin|node flags|env, comma-separated (default: this
 *               checkout's built gateway with its runtime as it is, and with
 *               --max-semi-space-size=4); bin "served" is dist/, built first;
 *               env is space-separated NAME=value (KEYPOOL_BUSY_POLL_US=0)
 * ALT_ROUNDS, ALT_SECONDS, ALT_CONNECTIONS  rounds, seconds per run, connections (6, 5, 64)
 * ALT_STREAM=1  streamed chat completions instead of JSON
 *
 * At one connection what matters is latency, not throughput: a variant's
 * figure is then the p50 it adds to direct's (sub-millisecond, from every
 * response), and the median of those is printed, with the p99 added likewise.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, runLoad } from "./lib/load.ts";
import { cpuOf, rssMb, runCli, servedBin, startChild, type Child } from "./lib/processes.ts";

const ROUNDS = Number(process.env.ALT_ROUNDS ?? 6);
const SECONDS = Number(process.env.ALT_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.ALT_CONNECTIONS ?? 64);
const STREAM = process.env.ALT_STREAM === "1";
/** One connection: latency is the figure, not throughput. */
const LATENCY = CONNECTIONS === 1;
const KEYS = Array.from({ length: 8 }, (_, i) => `sk-alt-${String(i).padStart(24, "0")}`);

interface Target {
  name: string;
  url: string;
  token: string;
  pid: number;
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  cpuUs: number;
  errors: number;
}

/** `name|bin|flags|env` entries; "served" stands for this checkout's dist/ (built once). */
export function parseVariants(spec: string, served: () => string): { name: string; bin: string; flags: string[]; env: Record<string, string> }[] {
  return spec
    .split(",")
    .filter((v) => v.trim() !== "")
    .map((v) => {
      const [name = "", bin = "served", flags = "", env = ""] = v.split("|");
      if (name === "") throw new Error(`ALT_VARIANTS: an entry without a name: ${JSON.stringify(v)} (name|bin|node flags|env)`);
      const vars = env.split(" ").filter((e) => e !== "");
      const bad = vars.find((e) => !/^[A-Z_][A-Z0-9_]*=/.test(e));
      if (bad !== undefined) throw new Error(`ALT_VARIANTS: ${name}'s env ${JSON.stringify(bad)} is not NAME=value`);
      return { name, bin: bin === "served" ? served() : bin, flags: flags.split(" ").filter((f) => f !== ""), env: Object.fromEntries(vars.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])) };
    });
}

async function load(t: Target, body: string): Promise<Run> {
  const cpu0 = cpuOf(t.pid);
  const r = await runLoad({
    url: `${t.url}/v1/chat/completions`,
    method: "POST",
    headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
    body,
    connections: CONNECTIONS,
    duration: SECONDS,
    fine: LATENCY,
  });
  return { rps: r.rps, p50: r.p50, p99: r.p99, cpuUs: (cpuOf(t.pid) - cpu0) / Math.max(1, r.requests), errors: r.non2xx + r.errors };
}

export async function run(): Promise<void> {
  let built: string | null = null;
  const served = (): string => (built ??= servedBin());
  const variants = parseVariants(process.env.ALT_VARIANTS ?? "now|served,semi4|served|--max-semi-space-size=4", served);
  const dir = mkdtempSync(join(tmpdir(), "keypool-alt-"));
  const children: Child[] = [];
  try {
    const sim = await startChild(["sim", "--port", "0", ...KEYS.flatMap((k) => ["--key", `${k}=ok`])], {});
    children.push(sim);
    const direct: Target = { name: "direct", url: sim.url, token: KEYS[0]!, pid: sim.proc.pid! };
    const gateways: Target[] = [];
    for (const v of variants) {
      const env = { KEYPOOL_STORE: `sqlite:${join(dir, `${v.name}.db`)}`, KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: KEYS.join(","), KEYPOOL_HEALTH_INTERVAL_MS: "0" };
      const token = await runCli(["tokens", "add", "--name", "alt"], env);
      const gw = await startChild(["serve", "--port", "0"], { ...env, ...v.env }, v.flags, [v.bin]);
      children.push(gw);
      gateways.push({ name: v.name, url: gw.url, token, pid: gw.proc.pid! });
      const vars = Object.entries(v.env).map(([k, x]) => `${k}=${x}`);
      console.log(`${v.name}: ${v.bin}${v.flags.length > 0 ? ` ${v.flags.join(" ")}` : ""}${vars.length > 0 ? ` (${vars.join(" ")})` : ""}`);
    }
    const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "benchmark" }], ...(STREAM ? { stream: true } : {}) });
    console.log(`${ROUNDS} rounds, ${SECONDS} s per run, ${CONNECTIONS} connections, ${STREAM ? "streamed" : "JSON"} chat completions`);
    for (const t of [direct, ...gateways]) await load(t, body); // warm-up
    const ratios = new Map<string, number[]>(gateways.map((g) => [g.name, []]));
    const tails = new Map<string, number[]>(gateways.map((g) => [g.name, []]));
    for (let round = 1; round <= ROUNDS; round++) {
      const before = await load(direct, body);
      const runs = new Map<string, Run>();
      for (const g of round % 2 === 1 ? gateways : gateways.toReversed()) runs.set(g.name, await load(g, body));
      const after = await load(direct, body);
      if (LATENCY) {
        const d = (before.p50 + after.p50) / 2;
        const d99 = (before.p99 + after.p99) / 2;
        const parts = gateways.map((g) => {
          const r = runs.get(g.name)!;
          ratios.get(g.name)!.push(r.p50 - d);
          tails.get(g.name)!.push(r.p99 - d99);
          return `${g.name} p50 ${r.p50.toFixed(3)} (+${(r.p50 - d).toFixed(3)} ms) p99 ${r.p99.toFixed(3)} (+${(r.p99 - d99).toFixed(3)}), ${r.cpuUs.toFixed(0)} µs${r.errors > 0 ? `, ${r.errors} errors` : ""}`;
        });
        console.log(`round ${round}: direct p50 ${d.toFixed(3)} p99 ${d99.toFixed(3)} ms | ${parts.join(" | ")}`);
        continue;
      }
      const d = (before.rps + after.rps) / 2;
      const parts = gateways.map((g) => {
        const r = runs.get(g.name)!;
        ratios.get(g.name)!.push(r.rps / d);
        return `${g.name} ${r.rps.toFixed(0)} (${((r.rps / d) * 100).toFixed(1)} %, ${r.cpuUs.toFixed(0)} µs${r.errors > 0 ? `, ${r.errors} errors` : ""})`;
      });
      console.log(`round ${round}: direct ${d.toFixed(0)} | ${parts.join(" | ")}`);
    }
    if (LATENCY) {
      console.log(`median p50 added to direct's: ${gateways.map((g) => `${g.name} +${median(ratios.get(g.name)!).toFixed(3)} ms`).join(", ")}`);
      console.log(`median p99 added to direct's: ${gateways.map((g) => `${g.name} +${median(tails.get(g.name)!).toFixed(3)} ms`).join(", ")}`);
    }
    if (!LATENCY) console.log(`median share of direct: ${gateways.map((g) => `${g.name} ${(median(ratios.get(g.name)!) * 100).toFixed(1)} %`).join(", ")}`);
    console.log(`RSS peak: ${gateways.map((g) => `${g.name} ${rssMb(g.pid).peak.toFixed(0)} MB`).join(", ")}`);
  } finally {
    for (const c of children.toReversed()) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await run();
