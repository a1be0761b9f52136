/** Client tokens on /v1: open mode on loopback without tokens, then 401s, 429s for quota and rate, 403 for models. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { hashToken } from "../../src/gateway/index.ts";
import { chat, expectApiError, harness, key, type Harness } from "./helpers.ts";

async function createToken(h: Harness, body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const res = await h.admin("/admin/tokens", { method: "POST", body: JSON.stringify(body) });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as { id: string; token: string };
}

describe("client tokens", () => {
  let h: Harness;
  const OK = key("ok");
  before(async () => {
    h = await harness({ [OK]: "ok" });
  });
  after(() => h.close());

  it("leaves /v1 open to local callers while no token exists (loopback only)", async () => {
    const r = await chat(h.client("anything"));
    assert.ok(r.id);
  });

  it("requires a valid token once one exists: missing and wrong tokens get 401 in OpenAI's shape", async () => {
    const { token } = await createToken(h, { name: "app" });
    assert.match(token, /^kp-[A-Za-z0-9_-]{40,}$/);
    const missing = await fetch(`${h.gw.url}/v1/models`);
    assert.equal(missing.status, 401);
    const body = (await missing.json()) as { error: { message: string; type: string; code: string } };
    assert.equal(body.error.code, "KP_TOKEN_MISSING");
    assert.equal(body.error.type, "invalid_request_error");
    const wrong = await expectApiError(chat(h.client("kp-not-a-real-token-000000000000000000000")));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.code, "KP_TOKEN_INVALID");
    const r = await chat(h.client(token));
    assert.ok(r.id);
  });

  it("stores only the hash, and lists tokens without it", async () => {
    const { id, token } = await createToken(h, { name: "listed" });
    const stored = await h.pool.store.tokens.get(id);
    assert.equal(stored!.hash, hashToken(token));
    const list = (await (await h.admin("/admin/tokens")).json()) as { data: Record<string, unknown>[] };
    const row = list.data.find((t) => t.id === id)!;
    assert.equal(row.hash, undefined);
    assert.ok(!JSON.stringify(list).includes(token));
    assert.match(String(row.hint), /^kp-…/);
  });

  it("refuses expired tokens with 401", async () => {
    const token = "kp-expired-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    await h.pool.store.tokens.create({ id: "tok_expired", name: "old", hash: hashToken(token), hint: "kp-…aaaa", models: null, quotaTokens: null, usedTokens: 0, rpm: null, expiresAt: Date.now() - 1000, createdAt: Date.now() - 5000, revokedAt: null, lastUsedAt: null });
    const e = await expectApiError(chat(h.client(token)));
    assert.equal(e.status, 401);
    assert.equal(e.code, "KP_TOKEN_EXPIRED");
  });

  it("refuses a revoked token at once through the admin API, and within ~1 s when revoked elsewhere", async () => {
    const a = await createToken(h, { name: "to-revoke" });
    await chat(h.client(a.token));
    const del = await h.admin(`/admin/tokens/${a.id}`, { method: "DELETE" });
    assert.equal(del.status, 200);
    const e = await expectApiError(chat(h.client(a.token)));
    assert.equal(e.status, 401);
    assert.equal(e.code, "KP_TOKEN_REVOKED");

    const b = await createToken(h, { name: "revoked-by-another-instance" });
    await chat(h.client(b.token));
    await h.pool.store.tokens.revoke(b.id, Date.now()); // as another instance would, straight in the store
    const t0 = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - t0 < 3000) {
      try {
        await chat(h.client(b.token));
        await new Promise((r) => setTimeout(r, 50));
      } catch (err) {
        status = (err as { status: number }).status;
      }
    }
    assert.equal(status, 401);
    assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
  });

  it("answers 429 when a token is over its quota, with a clear message", async () => {
    const { token, id } = await createToken(h, { name: "small", quotaTokens: 30 });
    const client = h.client(token);
    await chat(client); // ~24 tokens
    await chat(client); // still under 30 before it: allowed, now over
    const e = await expectApiError(chat(client));
    assert.equal(e.status, 429);
    assert.equal(e.code, "KP_TOKEN_QUOTA_EXCEEDED");
    assert.match(e.message, /has used \d+ of its quota of 30 tokens/);
    const stored = await h.pool.store.tokens.get(id);
    const expected = h.sim.requests(OK).length; // sanity: requests were made
    assert.ok(expected > 0);
    assert.ok(stored!.usedTokens >= 30);
  });

  it("answers 429 past the token's requests per minute, with retry-after", async () => {
    const { token } = await createToken(h, { name: "slowpoke", rpm: 2 });
    const client = h.client(token);
    await chat(client);
    await chat(client);
    const res = await fetch(`${h.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }),
    });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "KP_TOKEN_RATE_LIMITED");
    assert.match(body.error.message, /2 requests per minute/);
  });

  it("refuses a model outside the token's list (403) and lists only its models", async () => {
    const { token } = await createToken(h, { name: "mini-only", models: ["gpt-4o-mini"] });
    const client = h.client(token);
    await chat(client, "gpt-4o-mini");
    const e = await expectApiError(chat(client, "gpt-4o"));
    assert.equal(e.status, 403);
    assert.equal(e.code, "KP_MODEL_NOT_ALLOWED");
    assert.match(e.message, /may not use model gpt-4o/);
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ["gpt-4o-mini"],
    );
  });

  it("charges each request's metered tokens to its token", async () => {
    const { token, id } = await createToken(h, { name: "metered" });
    const client = h.client(token);
    let total = 0;
    for (let i = 0; i < 3; i++) total += (await chat(client)).usage!.total_tokens;
    const s = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "stream me" }], stream: true, stream_options: { include_usage: true } });
    for await (const c of s) if (c.usage) total += c.usage.total_tokens;
    const stored = await h.pool.store.tokens.get(id);
    assert.equal(stored!.usedTokens, total);
    const usage = (await (await h.admin(`/admin/usage?token=${id}`)).json()) as { total: { requests: number; promptTokens: number; completionTokens: number } };
    assert.equal(usage.total.requests, 4);
    assert.equal(usage.total.promptTokens + usage.total.completionTokens, total);
  });
});
