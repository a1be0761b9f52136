/**
 * The web backend against the simulator's ChatGPT backend: access tokens
 * refreshed and cached, rotated session tokens saved, expired sessions
 * retired with their evidence, one message at a time per account, sticky
 * conversations, failover for new ones, and the health probe.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatClient, ChatUpstreamError, ConversationUnavailableError, registerWebProbe } from "../../src/chat/index.ts";
import type { Pool } from "../../src/pool/pool.ts";
import type { Simulator } from "../../src/sim/index.ts";
import { eventually, sessionToken, STORE_KINDS, testPool, testSim, testStore } from "./helpers.ts";

async function addSession(pool: Pool, sim: Simulator, token: string, meta: Record<string, string> = {}): Promise<string> {
  const { added, duplicates } = await pool.add({ kind: "web", secret: token, baseURL: sim.url, meta });
  return (added[0] ?? duplicates[0])!.id;
}

const posts = (sim: Simulator, token: string) => sim.requests(token).filter((r) => r.path === "/backend-api/conversation");
const authCalls = (sim: Simulator, token: string) => sim.requests(token).filter((r) => r.path === "/api/auth/session");

for (const kind of STORE_KINDS) {
  it(`saves a rotated session token to the store at once, under the same id (${kind} store)`, async (t) => {
    const token = sessionToken(`rot${kind}`);
    const sim = await testSim(t, { sessions: { [token]: "rotate" } });
    const pool = await testPool(t, sim, await testStore(t, kind));
    const id = await addSession(pool, sim, token);
    const chat = new ChatClient({ pool, backend: "web" });
    const reply = await chat.sendMessage("hello web");
    const now = sim.session(token).token;
    assert.notEqual(now, token, "the simulator rotated the token");
    const stored = await pool.store.credentials.get(id);
    assert.equal(stored?.secret, now, "the store holds the new token");
    assert.equal(stored?.id, id, "the id stays the one of the first token");
    assert.ok(stored?.meta.accessToken, "the access token is cached in meta");
    assert.ok(Number(stored?.meta.accessTokenExpires) > Date.now());
    assert.equal(pool.list().length, 1);
    // The next message reuses the cached access token: no new session call, no new rotation.
    await chat.sendMessage("again", { conversationId: reply.conversationId });
    assert.equal(authCalls(sim, token).length, 1);
    assert.equal(sim.session(token).rotations, 1);
  });
}

describe("chat over web sessions", () => {
  it("refreshes a token the backend calls expired once, and retries", async (t) => {
    const token = sessionToken("shortlived");
    const sim = await testSim(t, { sessions: { [token]: "short-lived:ms=150" } });
    const pool = await testPool(t, sim, await testStore(t, "memory"));
    const id = await addSession(pool, sim, token);
    const chat = new ChatClient({ pool, backend: "web" });
    const first = await chat.sendMessage("first");
    await new Promise((r) => setTimeout(r, 250));
    // The cache still believes in the token (its JWT exp is rounded up); the backend says token_expired.
    const rec = pool.record(id)!;
    await pool.update(id, { meta: { ...rec.meta, accessTokenExpires: String(Date.now() + 3_600_000) } });
    const second = await chat.sendMessage("second", { conversationId: first.conversationId });
    assert.equal(second.conversationId, first.conversationId);
    const log = sim.requests(token).slice(-3).map((r) => `${r.method} ${r.path} ${r.status}`);
    assert.deepEqual(log, ["POST /backend-api/conversation 401", "GET /api/auth/session 200", "POST /backend-api/conversation 200"]);
    assert.equal(pool.get(id)?.state, "active");
  });

  it("retires a session that can't refresh, with the evidence, and fails over a new conversation", async (t) => {
    const dead = sessionToken("deadsession");
    const alive = sessionToken("alivesession");
    const sim = await testSim(t, { sessions: { [dead]: "expired", [alive]: "ok" } });
    const pool = await testPool(t, sim, await testStore(t, "memory"));
    const deadId = await addSession(pool, sim, dead);
    const chat = new ChatClient({ pool, backend: "web" });

    await assert.rejects(chat.sendMessage("anyone there?"), (err: unknown) => {
      assert.ok(err instanceof ChatUpstreamError);
      assert.equal(err.outcome?.kind, "invalid");
      assert.match(err.message, /RefreshAccessTokenError/);
      assert.match(err.message, /retired/);
      return true;
    });
    await eventually(() => pool.get(deadId)?.state === "retired");
    const [event] = await pool.events({ credentialId: deadId, kind: "state" });
    assert.equal(event?.to, "retired");
    assert.equal(event?.evidence?.code, "RefreshAccessTokenError");
    assert.equal(event?.evidence?.status, 200);
    assert.match(event?.evidence?.message ?? "", /can't refresh/);
    assert.equal((await chat.session("x").conversations()).length, 0, "nothing was stored");

    // With a live account beside a dying one, a new conversation fails over.
    await pool.enable(deadId);
    const aliveId = await addSession(pool, sim, alive);
    const replies = await Promise.all([0, 1, 2, 3].map((i) => chat.session(`fail-${i}`).send("hello")));
    for (const r of replies) assert.equal((await chat.conversation(r.conversationId))?.credentialId, aliveId);
    await eventually(() => pool.get(deadId)?.state === "retired");
  });

  it("queues messages per account: several at once on one account never collide", async (t) => {
    const token = sessionToken("busyaccount");
    const sim = await testSim(t, { sessions: { [token]: "slow:ms=30,chunk_ms=5" } });
    const pool = await testPool(t, sim, await testStore(t, "memory"));
    await addSession(pool, sim, token);
    const chat = new ChatClient({ pool, backend: "web" });
    const s = chat.session("one");
    const replies = await Promise.all([
      ...[0, 1, 2, 3, 4].map((i) => chat.session(`client-${i}`).send(`parallel ${i}`)),
      s.send("same conversation a"),
      s.send("same conversation b"),
    ]);
    assert.equal(replies.length, 7);
    const statuses = posts(sim, token).map((r) => r.status);
    assert.equal(statuses.length, 7);
    assert.ok(statuses.every((st) => st === 200), `no 429 "one message at a time": ${statuses.join(",")}`);
    assert.equal(sim.session(token).stats.statuses["429"] ?? 0, 0);
    assert.deepEqual((await s.history()).filter((m) => m.role === "user").map((m) => m.text), ["same conversation a", "same conversation b"]);
  });

  it("sends the system message once, before a new conversation's first question", async (t) => {
    const token = sessionToken("system");
    const sim = await testSim(t, { sessions: { [token]: "ok" } });
    const pool = await testPool(t, sim, await testStore(t, "memory"));
    await addSession(pool, sim, token);
    const chat = new ChatClient({ pool, backend: "web", systemMessage: "Answer in one sentence." });
    const first = await chat.sendMessage("what is keypool?");
    await chat.sendMessage("and why?", { conversationId: first.conversationId });
    const [a, b] = posts(sim, token).map((r) => (r.body as { messages: { author: { role: string }; content: { parts: string[] } }[] }).messages);
    assert.deepEqual(a!.map((m) => [m.author.role, m.content.parts[0]]), [["system", "Answer in one sentence."], ["user", "what is keypool?"]]);
    assert.deepEqual(b!.map((m) => m.author.role), ["user"], "the server keeps it: not sent again");
  });

  it("keeps each conversation on the account that created it", async (t) => {
    const tokens = [sessionToken("stickya"), sessionToken("stickyb"), sessionToken("stickyc")];
    const sim = await testSim(t, { sessions: Object.fromEntries(tokens.map((k) => [k, "ok"])) });
    const pool = await testPool(t, sim, await testStore(t, "memory"), { strategy: "round-robin" });
    const ids = await Promise.all(tokens.map((k) => addSession(pool, sim, k)));
    const chat = new ChatClient({ pool, backend: "web" });
    const clients = Array.from({ length: 6 }, (_, i) => chat.session(`sticky-${i}`));
    for (let turn = 0; turn < 4; turn++) await Promise.all(clients.map((c, i) => c.send(`client ${i} turn ${turn}`)));
    const used = new Set<string>();
    for (const c of clients) {
      const conv = (await c.current())!;
      const history = await c.history();
      assert.equal(history.length, 8);
      assert.ok(history.every((m) => m.credentialId === conv.credentialId), "every turn went to the conversation's account");
      used.add(conv.credentialId!);
      const token = tokens[ids.indexOf(conv.credentialId!)]!;
      const mine = posts(sim, token).filter((r) => (r.body as { conversation_id?: string }).conversation_id === conv.remoteId);
      assert.equal(mine.length, 3, "the three follow-ups reached that account");
    }
    assert.ok(used.size >= 2, "new conversations spread over the accounts");
    // A follow-up never goes anywhere else, even when its account fails.
    const victim = (await clients[0]!.current())!;
    const victimToken = tokens[ids.indexOf(victim.credentialId!)]!;
    sim.setSession(victimToken, "reset");
    const otherPosts = () => tokens.filter((k) => k !== victimToken).reduce((n, k) => n + posts(sim, k).length, 0);
    const others = otherPosts();
    await assert.rejects(clients[0]!.send("are you there?"), ChatUpstreamError);
    assert.equal(otherPosts(), others, "the sticky conversation did not fail over");
    assert.equal((await clients[0]!.history()).length, 8, "nothing stored for the failed turn");
    // A new conversation does fail over.
    await clients[0]!.reset();
    const fresh = await clients[0]!.send("a new start");
    assert.notEqual((await chat.conversation(fresh.conversationId))?.credentialId, victim.credentialId);
  });

  it("says clearly when a conversation's account is retired, and when there is no session at all", async (t) => {
    const token = sessionToken("goner");
    const sim = await testSim(t, { sessions: { [token]: "ok" } });
    const pool = await testPool(t, sim, await testStore(t, "memory"));
    const chat = new ChatClient({ pool, backend: "web" });
    await assert.rejects(chat.sendMessage("hello?"), (err: Error & { code?: string }) => {
      assert.equal(err.code, "KP_POOL_EMPTY");
      assert.match(err.message, /no web sessions/);
      return true;
    });
    const id = await addSession(pool, sim, token);
    const reply = await chat.sendMessage("hello");
    await pool.disable(id, "account banned");
    await assert.rejects(chat.sendMessage("still there?", { conversationId: reply.conversationId }), (err: unknown) => {
      assert.ok(err instanceof ConversationUnavailableError);
      assert.match(err.message, /disabled \(account banned\); start a new conversation/);
      return true;
    });
    await pool.remove(id);
    await assert.rejects(chat.sendMessage("and now?", { conversationId: reply.conversationId }), (err: unknown) => {
      assert.ok(err instanceof ConversationUnavailableError);
      assert.match(err.message, /removed from the pool/);
      return true;
    });
  });

  it("probes sessions with the health checker: alive stays, expired is retired", async (t) => {
    const good = sessionToken("probegood");
    const bad = sessionToken("probebad");
    const sim = await testSim(t, { sessions: { [good]: "rotate", [bad]: "expired" } });
    const pool = await testPool(t, sim, await testStore(t, "memory"));
    const goodId = await addSession(pool, sim, good);
    const badId = await addSession(pool, sim, bad);
    registerWebProbe(pool);
    const results = await pool.probe();
    const byId = Object.fromEntries(results.map((r) => [r.id, r]));
    assert.equal(byId[goodId]?.after, "active");
    assert.equal(byId[badId]?.after, "retired");
    assert.equal(pool.record(goodId)?.secret, sim.session(good).token, "the probe saved the rotated token");
  });

  it("passes a Cloudflare check with the session's cf_clearance and User-Agent", async (t) => {
    const token = sessionToken("cloudflare");
    const sim = await testSim(t, { sessions: { [token]: "cf-required:clearance=cf-ok,ua=TestBrowser/1.0" } });
    const pool = await testPool(t, sim, await testStore(t, "memory"));
    const id = await addSession(pool, sim, token, { cfClearance: "cf-ok", userAgent: "TestBrowser/1.0" });
    const chat = new ChatClient({ pool, backend: "web" });
    assert.match((await chat.sendMessage("through the gate")).text, /through the gate/);
    // Without them: a clear error, and the session is not retired for it.
    await pool.update(id, { meta: {} });
    await assert.rejects(chat.sendMessage("no cookie"), (err: unknown) => {
      assert.ok(err instanceof ChatUpstreamError);
      assert.match(err.message, /Cloudflare challenge/);
      return true;
    });
    assert.equal(pool.get(id)?.state, "active");
  });
});

it("waits out a collision with another process on the same account instead of cooling it", async (t) => {
  const token = sessionToken("twoprocs");
  const sim = await testSim(t, { sessions: { [token]: "slow:ms=40,chunk_ms=10" } });
  // Two pools with their own queues stand for two processes sharing the account.
  const pools = [await testPool(t, sim, await testStore(t, "memory")), await testPool(t, sim, await testStore(t, "memory"))];
  const ids = await Promise.all(pools.map((p) => addSession(p, sim, token)));
  const chats = pools.map((pool) => new ChatClient({ pool, backend: "web" }));
  const replies = await Promise.all(chats.map((c, i) => c.sendMessage(`from process ${i}`)));
  assert.equal(replies.length, 2);
  assert.ok((sim.session(token).stats.statuses["429"] ?? 0) >= 1, "the two did collide");
  pools.forEach((p, i) => assert.equal(p.get(ids[i]!)?.state, "active", "a collision is not a rate limit"));
});
