/**
 * Focused tests for the bugs the proof scenarios found, each failing
 * without its fix (the scenarios find them too, at gateway level, but take
 * longer and say less about where the fault is).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClientAuth } from "../../src/gateway/auth/client-auth.ts";
import { issueToken } from "../../src/gateway/auth/token-issue.ts";
import { UsageStripper } from "../../src/gateway/proxy/usage-stripper.ts";
import { openMemoryStore } from "../../src/store/memory/index.ts";
import { StoreError } from "../../src/store/store-error.ts";
import type { Store } from "../../src/store/types.ts";
import type { UsageRecord } from "../../src/pool/types.ts";
import { testStore, STORE_KINDS } from "../helpers/stores.ts";
import { harness, key } from "../gateway/helpers.ts";
import { writeFileSync } from "node:fs";
import { resolveGatewayConfig } from "../../src/config/gateway-config.ts";
import { tempDir } from "../store/sqlite-temp.ts";
import { connect } from "node:net";

/** A memory store whose token lookups fail (as Redis does when it is away) while `down` is set. */
function flakyTokens(): { store: Store; setDown(down: boolean): void } {
  const inner = openMemoryStore();
  let down = false;
  const tokens = { ...inner.tokens, findByHash: (hash: string) => (down ? Promise.reject(new StoreError("redis at redis://x is unreachable")) : inner.tokens.findByHash(hash)) };
  return { store: { ...inner, tokens }, setDown: (d) => (down = d) };
}

describe("regressions found by the proof suite", () => {
  it("a client token seen before keeps working while the store is away (it used to get 503 KP_STORE after a second)", async () => {
    const { store, setDown } = flakyTokens();
    let now = 1_000_000;
    const auth = new ClientAuth(store, { loopbackOnly: true, refreshMs: 500, maxAgeMs: 1000, now: () => now });
    const { token } = await issueToken(store, { name: "app" }, now);
    const known = await auth.authenticate(`Bearer ${token}`);
    assert.equal(known?.token?.name, "app");
    setDown(true);
    now += 5000; // past maxAgeMs: a refresh before use, which the store can't answer
    const during = await auth.authenticate(`Bearer ${token}`);
    assert.equal(during?.token?.name, "app", "served from what the gateway holds");
    // A token never seen before can't be checked while the store is away: a clear 503, not a pass.
    await assert.rejects(auth.authenticate("Bearer kp-never-seen-before-000000000000000000"), (err: Error & { code?: string }) => err.code === "KP_STORE");
    setDown(false);
    await store.tokens.revoke(known!.token!.id, now);
    now += 5000;
    await assert.rejects(auth.authenticate(`Bearer ${token}`), (err: Error & { code?: string }) => err.code === "KP_TOKEN_REVOKED", "a revoke made meanwhile holds once the store is back");
  });

  it("a flood of wrong tokens cannot evict a real token's entry and reset its requests-per-minute window (it could: one shared, bounded cache)", async () => {
    const store = openMemoryStore();
    const auth = new ClientAuth(store, { loopbackOnly: true, maxEntries: 100 });
    const { token } = await issueToken(store, { name: "limited", rpm: 3 });
    const use = async (): Promise<string> => {
      const caller = await auth.authenticate(`Bearer ${token}`);
      try {
        auth.admit(caller, "gpt-4o-mini");
        return "ok";
      } catch (err) {
        return (err as { code: string }).code;
      }
    };
    const first = [await use(), await use(), await use(), await use()];
    for (let i = 0; i < 250; i++) await auth.authenticate(`Bearer kp-wrong-${i}-${"x".repeat(32)}`).catch(() => undefined);
    const after = [await use(), await use()];
    assert.deepEqual(first, ["ok", "ok", "ok", "KP_TOKEN_RATE_LIMITED"]);
    assert.deepEqual(after, ["KP_TOKEN_RATE_LIMITED", "KP_TOKEN_RATE_LIMITED"], "still over its limit after 250 wrong tokens");
  });

  it("a key that is not in the pool is not echoed whole by the admin API or the pool (a 404 quoted it)", async () => {
    const h = await harness({ [key("present")]: "ok" });
    try {
      const missing = "sk-proj-awholekeythatisnotinthepool000000000001";
      for (const [method, path, body] of [
        ["GET", `/admin/keys/${missing}`, undefined],
        ["DELETE", `/admin/keys/${missing}`, undefined],
        ["POST", `/admin/keys/${missing}/disable`, "{}"],
        ["PATCH", `/admin/keys/${missing}`, "{}"],
        ["POST", "/admin/keys/probe", JSON.stringify({ ids: [missing] })],
      ] as const) {
        const res = await h.admin(path, { method, ...(body === undefined ? {} : { body }) });
        const text = await res.text();
        assert.equal(res.status, 404, text);
        assert.ok(!text.includes(missing), `${method} ${path.slice(0, 20)}: ${text}`);
        assert.match(text, /credential not found: sk-proj-…0001/);
      }
      await assert.rejects(h.pool.enable(missing), (err: Error) => !err.message.includes(missing) && /not found: sk-proj-…0001/.test(err.message));
      await assert.rejects(h.pool.enable("key_0123456789abcdef"), /credential not found: key_0123456789abcdef/, "an id is shown as it is");
    } finally {
      await h.close();
    }
  });

  it("the usage stripper keeps a stream whose lines end with lone CRs, as SSE allows (it dropped the whole answer)", () => {
    const events = ['data: {"choices":[{"index":0,"delta":{"content":"kept"}}],"usage":null}', 'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}', "data: [DONE]"];
    for (const eol of ["\r", "\r\n", "\n"]) {
      const stream = Buffer.from(events.map((e) => `${e}${eol}${eol}`).join(""));
      const want = `${events[0]}${eol}${eol}${events[2]}${eol}${eol}`;
      for (let i = 1; i < stream.length; i++) {
        const s = new UsageStripper();
        const out = Buffer.concat([...s.push(stream.subarray(0, i)), ...s.push(stream.subarray(i)), ...s.end()]).toString();
        assert.equal(out, want, `${JSON.stringify(eol)} framing, cut at ${i}`);
      }
    }
  });

  it("a stream sent with stream_options: null is metered and charged to its token (the spliced include_usage went unread: free, unlimited streams)", async () => {
    const h = await harness({ [key("meterednull")]: "ok" });
    try {
      const res = await h.admin("/admin/tokens", { method: "POST", body: JSON.stringify({ name: "small", quotaTokens: 40 }) });
      const { token, id } = (await res.json()) as { token: string; id: string };
      const stream = () =>
        fetch(`${h.gw.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "gpt-4o-mini", stream: true, stream_options: null, messages: [{ role: "user", content: "count me" }] }),
        });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await stream();
        const text = await r.text();
        statuses.push(r.status);
        if (r.status === 200) assert.ok(!text.includes('"usage":{'), "the client did not ask for the usage chunk: it is not sent");
      }
      assert.equal(statuses.at(-1), 429, `over its quota once metered: ${statuses.join(", ")}`);
      const usage = (await (await h.admin(`/admin/usage?token=${id}`)).json()) as { total: { requests: number; completionTokens: number } };
      assert.equal(usage.total.requests, statuses.filter((s) => s === 200).length, "each stream metered");
      assert.ok(usage.total.completionTokens > 0);
    } finally {
      await h.close();
    }
  });

  it("a config file with a JSON syntax error: the error names its line and column, and never quotes the file (which holds secrets)", () => {
    const dir = tempDir("keypool-proof-config-");
    try {
      const file = dir.file("gateway.json");
      const secret = "admin-token-kept-out-of-errors-0123456789";
      const cases: [string, RegExp][] = [
        [`{\n  "adminToken": "${secret}",\n  "port": tru\n}\n`, /line 3, column 14: Unexpected token/],
        [`{\n  "adminToken": "${secret}", "x": f}\n`, /line 2, column \d+: Unexpected token/],
        [`{\n  "adminToken": "${secret}"\n  "port": 8080\n}`, /line 3, column 3: Expected ',' or '}' after property value/],
        [`{"adminToken": "${secret}"}}`, /line 1, column \d+: Unexpected non-whitespace character after JSON/],
        ["", /line 1, column 1: Unexpected end of JSON input/],
      ];
      for (const [text, want] of cases) {
        writeFileSync(file, text);
        assert.throws(
          () => resolveGatewayConfig({ config: file }, {}),
          (err: Error) => {
            assert.match(err.message, want);
            assert.ok(!err.message.includes(secret.slice(-12)) && !err.message.includes('"port"'), `no text of the file in: ${err.message}`);
            return true;
          },
        );
      }
    } finally {
      dir.remove();
    }
  });

  it("a client still sending a body past the limit reads its 413, and the connection stays usable (it was closed under the client: EPIPE instead of the answer)", async () => {
    const h = await harness({ [key("bigbody")]: "ok" }, { gateway: { maxBodyBytes: 64 * 1024 } });
    const socket = connect(h.gw.port, "127.0.0.1");
    try {
      let received = "";
      let closed = false;
      socket.on("data", (d) => (received += d.toString()));
      socket.on("close", () => (closed = true));
      socket.on("error", () => undefined);
      const chunk = (n: number): string => `${n.toString(16)}\r\n${"x".repeat(n)}\r\n`;
      socket.write("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n");
      for (let i = 0; i < 7; i++) socket.write(chunk(10_000));
      const until = async (what: () => boolean): Promise<void> => {
        for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
      };
      await until(() => received.includes("\r\n\r\n{"));
      assert.match(received, /^HTTP\/1\.1 413 /);
      await new Promise((r) => setTimeout(r, 100)); // the client is slow to notice, and goes on sending
      socket.write(chunk(10_000));
      socket.write("0\r\n\r\n");
      socket.write("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
      await until(() => (received.match(/HTTP\/1\.1 /g) ?? []).length >= 2 || closed);
      assert.equal(closed, false, "the connection was not closed under the client");
      assert.match(received, /HTTP\/1\.1 200 [\s\S]*"status":"ok"/, "the next request on it is answered");
    } finally {
      socket.destroy();
      await h.close();
    }
  });

  for (const kind of STORE_KINDS) {
    it(`${kind}: a usage record charges its client token in the same step, once however often it is replayed (charges made while the store was away were lost)`, async () => {
      const ts = await testStore(kind, 11, "proof-regress");
      const store = await ts.open();
      try {
        const { record: token } = await issueToken(store, { name: "metered" }, 1000);
        const use = (id: string, time: number, p: number, c: number): UsageRecord => ({ id, time, credentialId: "key_x", tokenId: token.id, model: "gpt-4o-mini", promptTokens: p, completionTokens: c, costUsd: 0, estimated: false });
        const records = [use("use_a", 5000, 10, 5), use("use_b", 7000, 20, 1), { ...use("use_c", 6000, 3, 3), tokenId: null }];
        await store.usage.record(records);
        await store.usage.record(records); // a replay after a reconnect
        await store.usage.record([use("use_a", 5000, 10, 5), use("use_old", 2000, 1, 1)]);
        const stored = await store.tokens.get(token.id);
        assert.equal(stored?.usedTokens, 15 + 21 + 2, "each record counted once");
        assert.equal(stored?.lastUsedAt, 7000, "the newest record's time, not the last written");
        await store.usage.record([{ ...use("use_gone", 8000, 1, 1), tokenId: "tok_missing" }]);
        assert.equal(await store.tokens.get("tok_missing"), null, "a record of an unknown token makes no token");
      } finally {
        if (kind !== "memory") await store.close();
        await ts.cleanup();
      }
    });
  }
});
