/** Conformance of the gateway's token repo and the chat's conversation repo; called by storeConformance. */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { ChatMessage, ClientToken, Conversation, Store } from "../../src/store/types.ts";

const token = (id: string, over: Partial<ClientToken> = {}): ClientToken => ({
  id,
  name: `name ${id}`,
  hash: `hash-${id}`,
  hint: "kp-…abcd",
  models: ["gpt-4o-mini"],
  quotaTokens: 1000,
  usedTokens: 0,
  rpm: 60,
  expiresAt: null,
  createdAt: Date.now(),
  revokedAt: null,
  lastUsedAt: null,
  ...over,
});

const conv = (id: string, over: Partial<Conversation> = {}): Conversation => ({
  id,
  clientId: null,
  backend: "api",
  title: null,
  credentialId: null,
  remoteId: null,
  lastMessageId: null,
  messageCount: 0,
  promptTokens: 0,
  completionTokens: 0,
  createdAt: 1000,
  updatedAt: 1000,
  ...over,
});

const msg = (id: string, conversationId: string, parent: string | null, over: Partial<ChatMessage> = {}): ChatMessage => ({
  id,
  conversationId,
  parentMessageId: parent,
  role: "user",
  text: `text ${id} ✓`,
  model: null,
  credentialId: null,
  usage: null,
  remoteId: null,
  createdAt: 1000,
  ...over,
});

export function chatConformance(getStore: () => Store): void {
  it("keeps client tokens by id and hash, revokes, and counts usage atomically", async () => {
    const store = getStore();
    const id = `tok_${Math.random().toString(36).slice(2)}`;
    const t = token(id, { createdAt: 5 });
    await store.tokens.create(t);
    assert.deepEqual(await store.tokens.get(id), t);
    assert.deepEqual(await store.tokens.findByHash(t.hash), t);
    assert.equal(await store.tokens.findByHash("nope"), null);
    assert.ok((await store.tokens.list()).some((x) => x.id === id));
    const totals = await Promise.all(Array.from({ length: 20 }, (_, i) => store.tokens.addUsage(id, 10, 100 + i)));
    assert.equal(Math.max(...totals.map((x) => x ?? 0)), 200, "concurrent increments are not lost");
    assert.equal((await store.tokens.get(id))?.usedTokens, 200);
    const revoked = await store.tokens.revoke(id, 777);
    assert.equal(revoked?.revokedAt, 777);
    assert.equal((await store.tokens.findByHash(t.hash))?.revokedAt, 777);
    assert.equal(await store.tokens.revoke("tok_missing", 1), null);
    assert.equal(await store.tokens.addUsage("tok_missing", 1, 1), null);
  });

  it("charges a usage batch to its tokens once, however it is split and replayed", async () => {
    const store = getStore();
    const id = `tok_batch_${Date.now()}`;
    await store.tokens.create(token(id, { hash: `hash-${id}` }));
    const at = Date.UTC(2026, 10, 21, 9, 0);
    // 70 records (more than any one statement's rows), two credentials, one rollup row each; then a replay mixed with new ones.
    const rec = (n: number) => ({ id: `${id}_u${String(n).padStart(3, "0")}`, time: at + n, credentialId: n % 2 === 0 ? "key_even" : "key_odd", tokenId: id, model: "gpt-4o-mini", promptTokens: 3, completionTokens: 2, costUsd: 0.5, estimated: false });
    await store.usage.record(Array.from({ length: 70 }, (_, n) => rec(n)));
    await store.usage.record(Array.from({ length: 80 }, (_, n) => rec(n))); // 70 seen, 10 new
    const t = await store.tokens.get(id);
    assert.equal(t?.usedTokens, 80 * 5, "each record's tokens counted once");
    assert.equal(t?.lastUsedAt, at + 79);
    const rows = await store.usage.query({ tokenId: id, groupBy: ["credential"] });
    assert.deepEqual(rows.map((r) => [r.credentialId, r.requests, r.promptTokens, r.completionTokens]).sort(), [["key_even", 40, 120, 80], ["key_odd", 40, 120, 80]]);
    assert.ok(Math.abs(rows.reduce((s, r) => s + r.costUsd, 0) - 40) < 1e-9);
  });

  it("stores conversations and their message chains", async () => {
    const store = getStore();
    const cid = `c_${Math.random().toString(36).slice(2)}`;
    await store.conversations.create(conv(cid, { clientId: "client-1" }));
    const m1 = msg(`${cid}-1`, cid, null);
    const m2 = msg(`${cid}-2`, cid, m1.id, { role: "assistant", usage: { promptTokens: 5, completionTokens: 7, estimated: false }, model: "gpt-4o-mini", credentialId: "key_x", remoteId: "r2" });
    const after = await store.conversations.append(cid, [m1, m2], { lastMessageId: m2.id, updatedAt: 2000, title: "hello" }, { promptTokens: 5, completionTokens: 7 });
    assert.equal(after?.lastMessageId, m2.id);
    assert.equal(after?.messageCount, 2);
    assert.equal(after?.promptTokens, 5);
    const m3 = msg(`${cid}-3`, cid, m2.id);
    const m4 = msg(`${cid}-4`, cid, m3.id, { role: "assistant" });
    const again = await store.conversations.append(cid, [m3, m4], { lastMessageId: m4.id, updatedAt: 3000 }, { promptTokens: 10, completionTokens: 1 });
    assert.deepEqual([again?.messageCount, again?.promptTokens, again?.completionTokens], [4, 15, 8], "counters are added to");
    assert.deepEqual(await store.conversations.message(m2.id), m2);
    assert.deepEqual((await store.conversations.chain(m4.id, 100)).map((m) => m.id), [m1.id, m2.id, m3.id, m4.id]);
    assert.deepEqual((await store.conversations.chain(m4.id, 2)).map((m) => m.id), [m3.id, m4.id], "the newest are kept");
    assert.deepEqual((await store.conversations.chain(m2.id, 100)).map((m) => m.id), [m1.id, m2.id]);
    assert.equal(await store.conversations.append("c_missing", [msg("x", "c_missing", null)], {}, { promptTokens: 1, completionTokens: 1 }), null);
    assert.equal(await store.conversations.message("x"), null, "nothing stored for a missing conversation");
    const got = await store.conversations.get(cid);
    assert.equal(got?.title, "hello");
    assert.equal(got?.updatedAt, 3000);
    assert.equal((await store.conversations.update(cid, { remoteId: "remote-1", credentialId: "key_y" }))?.remoteId, "remote-1");
    assert.equal(await store.conversations.update("c_missing", { title: "x" }), null);
  });

  it("counts appends made at once, as two processes on one conversation would", async () => {
    const store = getStore();
    const cid = `c_${Math.random().toString(36).slice(2)}`;
    await store.conversations.create(conv(cid));
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => store.conversations.append(cid, [msg(`${cid}-q${i}`, cid, null), msg(`${cid}-a${i}`, cid, `${cid}-q${i}`, { role: "assistant" })], { updatedAt: 5000 + i }, { promptTokens: 3, completionTokens: 2 })),
    );
    const got = await store.conversations.get(cid);
    assert.deepEqual([got?.messageCount, got?.promptTokens, got?.completionTokens], [10, 15, 10]);
  });

  it("lists a client's conversations newest first and remembers the current one", async () => {
    const store = getStore();
    const client = `client-${Math.random().toString(36).slice(2)}`;
    await store.conversations.create(conv(`${client}-a`, { clientId: client, updatedAt: 10 }));
    await store.conversations.create(conv(`${client}-b`, { clientId: client, updatedAt: 30 }));
    await store.conversations.create(conv(`${client}-c`, { clientId: client, updatedAt: 20 }));
    await store.conversations.create(conv(`${client}-other`, { clientId: `${client}-2`, updatedAt: 40 }));
    assert.deepEqual((await store.conversations.list({ clientId: client })).map((c) => c.id), [`${client}-b`, `${client}-c`, `${client}-a`]);
    assert.deepEqual((await store.conversations.list({ clientId: client, limit: 1 })).map((c) => c.id), [`${client}-b`]);
    assert.equal(await store.conversations.current(client), null);
    await store.conversations.setCurrent(client, `${client}-a`);
    await store.conversations.setCurrent(client, `${client}-c`);
    assert.equal(await store.conversations.current(client), `${client}-c`);
  });
}
