/** pool.fetch as a transport: headers, upstreams, proxies, replay, abort, deadlines, streams. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { createPool } from "../../src/create-pool.ts";
import { credentialId } from "../../src/pool/credential-record.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { echoServer } from "../helpers/echo-server.ts";
import { proxyServer } from "../helpers/proxy-server.ts";
import { ask, simKey, simPool } from "../helpers/sim-pool.ts";

const KEY_A = "sk-test-aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const KEY_B = "sk-test-bbbbbbbbbbbbbbbbbbbbbbbbbbbb";

describe("pool.fetch: what goes upstream", () => {
  it("sets the credential, drops the caller's, and adds organization and project", async () => {
    const echo = await echoServer();
    const pool = await createPool({ upstream: `${echo.url}/v1`, keys: [{ secret: KEY_A, organization: "org-1", project: "proj-1" }], health: false });
    try {
      const res = await pool.fetch("https://api.openai.com/v1/chat/completions?x=1", {
        method: "POST",
        headers: { authorization: "Bearer caller-secret", "content-type": "application/json", cookie: "c=1" },
        body: JSON.stringify({ model: "m", messages: [] }),
      });
      assert.equal(res.status, 200);
      const seen = echo.seen[0]!;
      assert.equal(seen.url, "/v1/chat/completions?x=1", "the SDK's host is replaced by the pool's upstream, the path kept");
      assert.equal(seen.headers.authorization, `Bearer ${KEY_A}`);
      assert.equal(seen.headers["openai-organization"], "org-1");
      assert.equal(seen.headers["openai-project"], "proj-1");
      assert.equal(seen.headers.cookie, undefined);
      assert.equal(seen.headers["content-type"], "application/json");
    } finally {
      await pool.close();
      await echo.close();
    }
  });

  it("speaks Azure's api-key header and sends each credential to its own base URL", async () => {
    const main = await echoServer();
    const relay = await echoServer();
    const pool = await createPool({
      upstream: `${main.url}/v1`,
      keys: [{ secret: KEY_A, authStyle: "api-key", baseURL: `${relay.url}/openai/deployments/d1` }],
      health: false,
    });
    try {
      await pool.fetch(`${main.url}/v1/chat/completions`, { method: "POST", body: "{}" });
      assert.equal(main.seen.length, 0);
      assert.equal(relay.seen[0]?.url, "/openai/deployments/d1/chat/completions");
      assert.equal(relay.seen[0]?.headers["api-key"], KEY_A);
      assert.equal(relay.seen[0]?.headers.authorization, undefined);
    } finally {
      await pool.close();
      await main.close();
      await relay.close();
    }
  });

  it("goes through a credential's own proxy, and through HTTP_PROXY from the environment", async () => {
    const echo = await echoServer();
    const own = await proxyServer();
    const envProxy = await proxyServer();
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
    const pool = await createPool({ upstream: `${echo.url}/v1`, keys: [{ secret: KEY_A, proxy: own.url }], health: false });
    try {
      await pool.fetch(`${echo.url}/v1/models`);
      assert.equal(own.targets.length, 1, "the credential's proxy carried the request");
      assert.equal(echo.seen.length, 1);
      process.env.HTTP_PROXY = envProxy.url;
      delete process.env.NO_PROXY;
      delete process.env.no_proxy;
      const viaEnv = await createPool({ upstream: `${echo.url}/v1`, keys: [KEY_B], health: false });
      try {
        await viaEnv.fetch(`${echo.url}/v1/models`);
        assert.equal(envProxy.targets.length, 1, "HTTP_PROXY is honoured");
        assert.equal(echo.seen.length, 2);
      } finally {
        await viaEnv.close();
      }
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
      await pool.close();
      await own.close();
      await envProxy.close();
      await echo.close();
    }
  });

  it("caps the requests in flight on a credential", async () => {
    const echo = await echoServer(30);
    const pool = await createPool({ upstream: `${echo.url}/v1`, keys: [{ secret: KEY_A, maxInFlight: 2 }], health: false });
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => pool.fetch(`${echo.url}/v1/models`)));
      assert.ok(answers.every((r) => r.status === 200), "the extra requests waited rather than failed");
      assert.equal(echo.maxConcurrent, 2);
    } finally {
      await pool.close();
      await echo.close();
    }
  });
});

describe("pool.fetch: failover mechanics", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({});
  });
  after(async () => {
    await sim.close();
  });

  it("replays the same body on the next credential", async () => {
    const bad = simKey("replaybad");
    const good = simKey("replaygood");
    const sp = await simPool({ [bad]: "flaky:rate=1,status=503", [good]: "ok" }, { strategy: "round-robin" }, sim);
    try {
      for (let i = 0; i < 4; i++) await ask(sp.client, `replay ${i}`);
      const badBodies = sim.requests(bad).map((r) => JSON.stringify(r.body));
      const goodBodies = new Set(sim.requests(good).map((r) => JSON.stringify(r.body)));
      assert.ok(badBodies.length > 0);
      for (const b of badBodies) assert.ok(goodBodies.has(b), "every body the failing key saw reached the good key intact");
    } finally {
      await sp.close();
    }
  });

  it("honours the caller's abort without blaming the key", async () => {
    const slow = simKey("abortslow");
    const sp = await simPool({ [slow]: "slow:ms=2000" }, {}, sim);
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      const t0 = performance.now();
      await assert.rejects(sp.client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }, { signal: ac.signal }), (e: Error) => e instanceof OpenAI.APIUserAbortError);
      assert.ok(performance.now() - t0 < 1000, "the abort was immediate");
      const entry = sp.pool.index.entries.get(credentialId(slow))!;
      assert.equal(entry.inFlight, 0, "the lease was returned");
      assert.equal(sp.pool.get(slow)!.state, "active");
      assert.equal(sp.pool.get(slow)!.failures, 0, "an abort is not the key's failure");
    } finally {
      await sp.close();
    }
  });

  it("gives up at the request deadline with a clear error", async () => {
    const sp = await simPool({ [simKey("deadlinehang")]: "hang" }, { deadlineMs: 300 }, sim);
    try {
      const t0 = performance.now();
      await assert.rejects(ask(sp.client), (e: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(e.status, 504);
        assert.equal(e.code, "KP_DEADLINE");
        return true;
      });
      assert.ok(performance.now() - t0 < 2000);
    } finally {
      await sp.close();
    }
  });

  it("fails a stream over before its first byte, never after", async () => {
    const early = simKey("streamearly");
    const good = simKey("streamgood");
    const sp = await simPool({ [early]: "reset", [good]: "ok" }, { strategy: "round-robin" }, sim);
    try {
      for (let i = 0; i < 3; i++) {
        const stream = await sp.client.chat.completions.create({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: `s${i}` }] });
        let text = "";
        for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
        assert.ok(text.length > 0);
      }
      assert.ok(sim.stats(early).requests > 0, "the resetting key was tried and failed over");
    } finally {
      await sp.close();
    }
    const mid = simKey("streammid");
    const other = simKey("streamother");
    const sp2 = await simPool({ [mid]: "reset:after=chunks:2" }, {}, sim);
    try {
      await sp2.pool.add(other);
      sim.setKey(other, "ok");
      await sp2.pool.disable(other);
      const stream = await sp2.client.chat.completions.create({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "cut me" }] });
      await sp2.pool.enable(other);
      const seenBefore = sim.stats(other).requests;
      await assert.rejects(async () => {
        for await (const _ of stream) {
          // read until the cut
        }
      });
      assert.equal(sim.stats(other).requests, seenBefore, "a stream cut after its first byte is not replayed elsewhere");
    } finally {
      await sp2.close();
    }
  });

  it("answers with keypool's reason when no key can serve", async () => {
    const empty = await createPool({ upstream: `${sim.url}/v1`, health: false });
    const client = new OpenAI({ apiKey: "pooled", baseURL: `${sim.url}/v1`, fetch: empty.fetch, maxRetries: 0 });
    try {
      await assert.rejects(ask(client), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 503 && e.code === "KP_POOL_EMPTY");
    } finally {
      await empty.close();
    }
    const dead = simKey("alldead");
    const sp = await simPool({ [dead]: "invalid" }, {}, sim);
    try {
      await assert.rejects(ask(sp.client), (e: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(e.status, 503);
        assert.equal(e.code, "KP_NO_USABLE_CREDENTIAL");
        assert.match(e.message, /1 retired/);
        return true;
      });
    } finally {
      await sp.close();
    }
  });
});
