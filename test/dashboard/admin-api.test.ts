/** What the admin API adds for the dashboard: a key's remaining rate limit, and the pool's upstream in stats. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chat, harness, key, type Harness } from "../gateway/helpers.ts";

interface KeyView {
  id: string;
  rateLimit: { model: string; remainingRequests: number | null; limitRequests: number | null; remainingTokens: number | null; limitTokens: number | null; at: number; resetAt: number | null } | null;
}

describe("admin API for the dashboard", () => {
  let h: Harness;
  const A = key("limits");
  before(async () => {
    h = await harness({ [A]: "rate-limited:rpm=50" });
  });
  after(() => h.close());

  it("shows a key's remaining rate limit once the upstream told it, null before", async () => {
    const id = h.pool.get(A)!.id;
    const first = (await (await h.admin(`/admin/keys/${id}`)).json()) as KeyView;
    assert.equal(first.rateLimit, null);
    const t0 = Date.now();
    await chat(h.client());
    await chat(h.client());
    const list = (await (await h.admin("/admin/keys")).json()) as { data: KeyView[] };
    const rl = list.data.find((k) => k.id === id)!.rateLimit!;
    assert.equal(rl.model, "gpt-4o-mini");
    assert.equal(rl.limitRequests, 50);
    assert.equal(rl.remainingRequests, 48);
    assert.ok(rl.limitTokens !== null && rl.remainingTokens !== null && rl.remainingTokens < rl.limitTokens);
    assert.ok(rl.at >= t0 && rl.at <= Date.now());
    assert.ok(rl.resetAt !== null && rl.resetAt > rl.at);
  });

  it("names the pool's upstream in stats", async () => {
    const s = (await (await h.admin("/admin/stats")).json()) as { upstream: string };
    assert.equal(s.upstream, `${h.sim.url}/v1`);
  });

  it("counts /v1 traffic in the live view, not the admin API's own reads nor open live streams", async () => {
    interface Stats {
      inflight: number;
      requests: { total: number };
    }
    const stats = async (): Promise<Stats> => (await (await h.admin("/admin/stats")).json()) as Stats;
    const start = (await stats()).requests.total;
    for (let i = 0; i < 5; i++) await h.admin("/admin/keys");
    await fetch(`${h.gw.url}/healthz`);
    await fetch(`${h.gw.url}/dashboard/`);
    assert.equal((await stats()).requests.total, start);
    await chat(h.client());
    assert.equal((await stats()).requests.total, start + 1);
    const ac = new AbortController();
    const live = await h.admin("/admin/live", { signal: ac.signal });
    const first = new TextDecoder().decode((await live.body!.getReader().read()).value);
    const s = JSON.parse(first.split("\ndata: ")[1]!) as Stats;
    assert.equal(s.inflight, 0);
    assert.equal((await stats()).inflight, 0);
    ac.abort();
  });
});
