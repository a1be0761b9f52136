/**
 * A gateway on the simulator with a few labelled keys, two client tokens and
 * some traffic, and Debian's Chromium driven by playwright-core (never a
 * downloaded browser), for the dashboard's browser tests.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import type { UsageRecord } from "../../src/pool/types.ts";
import { harness, key, type Harness } from "../gateway/helpers.ts";

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

export const KEYS = {
  alpha: key("alpha"),
  bravo: key("bravo"),
  charlie: key("charlie"),
  relay: key("relay"),
  quota: key("quota"),
} as const;

const LABELS: Record<keyof typeof KEYS, string> = { alpha: "team-a primary", bravo: "team-a backup", charlie: "batch jobs", relay: "eu relay", quota: "trial account" };

export interface Fixture {
  h: Harness;
  ids: Record<keyof typeof KEYS, string>;
  /** Client tokens made for the traffic (`web-app`, `batch`). */
  tokens: { web: string; batch: string };
  /** One chat completion through the gateway's /v1 with a client token; resolves with the status. */
  call(token: string, model?: string): Promise<number>;
  close(): Promise<void>;
}

export async function startFixture(): Promise<Fixture> {
  // Prices of our own: the built-in table may not price the simulator's models.
  const prices = { "gpt-4o-mini": { input: 0.15, output: 0.6 }, "gpt-4o": { input: 2.5, output: 10 } };
  const h = await harness({ [KEYS.alpha]: "ok", [KEYS.bravo]: "ok", [KEYS.charlie]: "ok", [KEYS.relay]: "ok", [KEYS.quota]: "quota" }, { pool: { prices } });
  const ids = {} as Record<keyof typeof KEYS, string>;
  for (const [name, secret] of Object.entries(KEYS) as [keyof typeof KEYS, string][]) {
    ids[name] = h.pool.get(secret)!.id;
    await h.pool.update(ids[name], { label: LABELS[name] });
  }
  const token = async (name: string): Promise<string> => ((await (await h.admin("/admin/tokens", { method: "POST", body: JSON.stringify({ name }) })).json()) as { token: string }).token;
  const tokens = { web: await token("web-app"), batch: await token("batch") };
  const call = async (tok: string, model = "gpt-4o-mini"): Promise<number> => {
    const res = await fetch(`${h.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${tok}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "Say something short about key pools." }] }),
    });
    await res.arrayBuffer();
    return res.status;
  };
  return { h, ids, tokens, call, close: () => h.close() };
}

/** Runs `call` in a loop with `concurrency` workers until `stop` resolves. */
export async function trafficUntil(stop: Promise<unknown>, call: () => Promise<unknown>, concurrency = 3): Promise<number> {
  const run = { done: false };
  let count = 0;
  void stop.finally(() => (run.done = true)).catch(() => {});
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!run.done) {
        await call().catch(() => {});
        count++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }),
  );
  return count;
}

/** Where screenshots go: `KEYPOOL_SCREENSHOTS=docs` writes the README's, otherwise a temp dir removed after the run. */
export function screenshotDir(): { dir: string; cleanup(): void } {
  const target = process.env.KEYPOOL_SCREENSHOTS;
  if (target !== undefined && target !== "") return { dir: target, cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), "keypool-dash-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Usage records for the earlier hours of today and the earlier days of this month (UTC), so
 * screenshots show charts with a shape. Only the screenshot run seeds them: the tests
 * themselves read what real traffic through the gateway recorded.
 */
export async function seedHistory(f: Fixture): Promise<void> {
  const tokens = ((await (await f.h.admin("/admin/tokens")).json()) as { data: { id: string }[] }).data.map((t) => t.id);
  const keys = [f.ids.alpha, f.ids.bravo, f.ids.charlie, f.ids.relay];
  const now = Date.now();
  const hour = 3_600_000;
  const today = now - (now % (24 * hour));
  const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
  const records: UsageRecord[] = [];
  let n = 0;
  const add = (time: number, volume: number): void => {
    for (let i = 0; i < volume; i++) {
      const model = i % 3 === 0 ? "gpt-4o" : "gpt-4o-mini";
      const prompt = 40 + ((i * 37) % 200);
      const completion = 60 + ((i * 53) % 400);
      const price = model === "gpt-4o" ? [2.5, 10] : [0.15, 0.6];
      records.push({
        id: `seed-${n++}`,
        time: time + ((i * 7919) % hour),
        credentialId: keys[(i + Math.floor(time / hour)) % keys.length]!,
        tokenId: tokens[i % tokens.length] ?? null,
        model,
        promptTokens: prompt,
        completionTokens: completion,
        costUsd: (prompt * price[0]! + completion * price[1]!) / 1_000_000,
        estimated: false,
      });
    }
  };
  for (let t = today; t + hour <= now - (now % hour); t += hour) add(t, 6 + Math.round(10 * (1 + Math.sin((t - today) / hour / 3.5))));
  for (let d = monthStart; d < today; d += 24 * hour) add(d + 9 * hour, 40 + ((d / (24 * hour)) % 7) * 9);
  await f.h.pool.store.usage.record(records);
}
