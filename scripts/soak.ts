/**
 * Soak: `keypool serve` under mixed traffic for a while, sampling its memory,
 * to see that nothing grows without bound and that failover keeps faults from
 * clients. The upstream is the simulator with eight keys: four fine, one
 * flaky (30 % 5xx), one that resets streams after two chunks, one rate
 * limited, one slow. 32 clients send, at random: JSON chats (50 %), streamed
 * chats (30 %, one in seven dropped after its first chunk), embeddings,
 * model lists, requests with a wrong token and bodies that are not JSON.
 *
 * `npm run soak` (SOAK_SECONDS, default 300; SOAK_CLIENTS, default 32).
 * Prints a sample every 20 s (requests so far, RSS, V8 heap in use, open
 * handles), then the answers by status and the first and last samples.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { rssMb, runCli, servedBin, startChild } from "../bench/lib/processes.ts";
import { scrubSecrets } from "../src/util/scrub.ts";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 32);
const SAMPLE_MS = 20_000;

const key = (name: string): string => `sk-soak-${name}-${"0".repeat(20)}`;
const KEYS: Record<string, string> = {
  [key("ok1")]: "ok",
  [key("ok2")]: "ok",
  [key("ok3")]: "ok",
  [key("ok4")]: "ok",
  [key("flaky")]: "flaky:rate=0.3",
  [key("reset")]: "reset:after=chunks:2",
  [key("limited")]: "rate-limited:rpm=60",
  [key("slow")]: "slow:ms=50",
};

interface Sample {
  at: number;
  requests: number;
  rssMb: number;
  heapMb: number;
  handles: number;
}

const dir = mkdtempSync(join(tmpdir(), "keypool-soak-"));
const sim = await startChild(["sim", "--port", "0", ...Object.entries(KEYS).flatMap(([k, b]) => ["--key", `${k}=${b}`])], {});
const env = {
  KEYPOOL_STORE: `sqlite:${join(dir, "soak.db")}`,
  KEYPOOL_UPSTREAM: `${sim.url}/v1`,
  KEYPOOL_KEYS: Object.keys(KEYS).join(","),
  KEYPOOL_HEALTH_INTERVAL_MS: "10000",
  KEYPOOL_ADMIN_TOKEN: "soak-admin-token-0123456789",
};
const token = await runCli(["tokens", "add", "--name", "soak"], env);
// The gateway as npm start runs it (built dist/), whose RSS the README reports.
const gw = await startChild(["serve", "--port", "0"], env, [], [servedBin()]);
const agent = new Agent({ connections: CLIENTS * 2 });
const outcomes = new Map<string, number>();
const count = (what: string | number): void => void outcomes.set(String(what), (outcomes.get(String(what)) ?? 0) + 1);
const serverErrors: string[] = [];
let sent = 0;

const chat = (stream: boolean): string => JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: `soak ${sent}` }], ...(stream ? { stream: true } : {}) });

async function send(path: string, init: { method?: "GET" | "POST"; body?: string; auth?: string; dropAfterFirst?: boolean }): Promise<void> {
  const ac = new AbortController();
  const res = await request(`${gw.url}${path}`, {
    method: init.method ?? "POST",
    headers: { authorization: `Bearer ${init.auth ?? token}`, "content-type": "application/json" },
    ...(init.body === undefined ? {} : { body: init.body }),
    dispatcher: agent,
    signal: ac.signal,
  });
  if (res.statusCode >= 500) {
    // A 5xx is counted with keypool's error code, and the first few are shown: what failed, not only that it did.
    const body = await res.body.text();
    count(`${res.statusCode} ${/"code":"([^"]+)"/.exec(body)?.[1] ?? "(no code)"}`);
    if (serverErrors.length < 5) serverErrors.push(`${path} ${res.statusCode}: ${scrubSecrets(body).slice(0, 400)}`);
    return;
  }
  count(res.statusCode);
  if (init.dropAfterFirst !== true) {
    await res.body.text();
    return;
  }
  for await (const _ of res.body) {
    ac.abort();
    break;
  }
  count("dropped by the client");
}

async function one(): Promise<void> {
  const r = Math.random();
  try {
    if (r < 0.5) await send("/v1/chat/completions", { body: chat(false) });
    else if (r < 0.8) await send("/v1/chat/completions", { body: chat(true), dropAfterFirst: Math.random() < 1 / 7 });
    else if (r < 0.9) await send("/v1/embeddings", { body: JSON.stringify({ model: "text-embedding-3-small", input: "soak" }) });
    else if (r < 0.95) await send("/v1/models", { method: "GET" });
    else if (r < 0.975) await send("/v1/chat/completions", { body: chat(false), auth: "kp-not-a-token" });
    else await send("/v1/chat/completions", { body: "{not json" });
  } catch (err) {
    count(`client error ${(err as { code?: string }).code ?? (err as Error).name}`);
  }
  sent++;
}

async function sample(t0: number): Promise<Sample> {
  const res = await request(`${gw.url}/metrics`, { dispatcher: agent });
  const text = await res.body.text();
  const metric = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text)?.[1] ?? Number.NaN);
  return { at: (Date.now() - t0) / 1000, requests: sent, rssMb: rssMb(gw.proc.pid!).rss, heapMb: metric("keypool_nodejs_heap_size_used_bytes") / 1048576, handles: metric("keypool_nodejs_active_handles_total") };
}

const show = (s: Sample): string => `${s.at.toFixed(0).padStart(5)} s ${String(s.requests).padStart(9)} requests   RSS ${s.rssMb.toFixed(0)} MB   heap ${s.heapMb.toFixed(1)} MB   handles ${s.handles}`;

console.log(`Soak: keypool serve (SQLite) for ${SECONDS} s, ${CLIENTS} clients, mixed traffic, 8 keys of which 4 misbehave`);
const t0 = Date.now();
const end = t0 + SECONDS * 1000;
const samples: Sample[] = [];
try {
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (Date.now() < end) await one();
  });
  const sampler = (async () => {
    while (Date.now() + SAMPLE_MS <= end) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      const s = await sample(t0);
      samples.push(s);
      console.log(show(s));
    }
  })();
  await Promise.all([...clients, sampler]);
  console.log("answers:", [...outcomes].map(([k, v]) => `${k}: ${v}`).join(", "));
  for (const e of serverErrors) console.log(`  ${e}`);
  if (samples.length >= 2) {
    const [first, last] = [samples[0]!, samples.at(-1)!];
    console.log(`from the first sample to the last: RSS ${first.rssMb.toFixed(0)} → ${last.rssMb.toFixed(0)} MB (peak ${Math.max(...samples.map((s) => s.rssMb)).toFixed(0)}), heap ${first.heapMb.toFixed(1)} → ${last.heapMb.toFixed(1)} MB, handles ${first.handles} → ${last.handles}`);
  }
} finally {
  await Promise.all([gw.stop(), sim.stop()]);
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
}
