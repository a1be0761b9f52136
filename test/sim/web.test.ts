import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import type { Simulator } from "../../src/sim/index.ts";
import { testSim } from "./helpers.ts";

const COOKIE = "__Secure-next-auth.session-token";
const UA = "Mozilla/5.0 (test) keypool";

interface SessionAnswer {
  status: number;
  body: { accessToken?: string; user?: { id: string; email: string }; expires?: string; error?: string };
  setCookie: string | null;
  text: string;
}

async function authSession(sim: Simulator, token: string, extra: { cookie?: string; ua?: string } = {}): Promise<SessionAnswer> {
  const res = await fetch(`${sim.url}/api/auth/session`, {
    headers: { cookie: `${COOKIE}=${token}${extra.cookie ? `; ${extra.cookie}` : ""}`, "user-agent": extra.ua ?? "node" },
  });
  const text = await res.text();
  let body = {};
  try {
    body = JSON.parse(text) as object;
  } catch {
    // HTML challenge
  }
  return { status: res.status, body, setCookie: res.headers.get("set-cookie"), text };
}

interface Turn {
  conversationId: string;
  messageId: string;
  text: string;
  parts: string[];
  final: { status: string; end_turn: boolean | null; author: { role: string } };
  raw: string;
}

function conversationBody(text: string, parent: string, conversationId?: string): string {
  return JSON.stringify({
    action: "next",
    messages: [{ id: randomUUID(), author: { role: "user" }, content: { content_type: "text", parts: [text] } }],
    ...(conversationId ? { conversation_id: conversationId } : {}),
    parent_message_id: parent,
    model: "auto",
  });
}

function post(sim: Simulator, accessToken: string, body: string, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(`${sim.url}/backend-api/conversation`, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json", accept: "text/event-stream", ...extra },
    body,
  });
}

async function readTurn(res: Response): Promise<Turn> {
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const raw = await res.text();
  const events = raw.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
  assert.equal(events.at(-1), "[DONE]");
  const messages = events.slice(0, -1).map((e) => JSON.parse(e) as { message: Turn["final"] & { id: string; content: { parts: string[] } }; conversation_id: string; error: null });
  const parts = messages.map((m) => m.message.content.parts[0]!);
  const last = messages.at(-1)!;
  assert.equal(last.error, null);
  return { conversationId: last.conversation_id, messageId: last.message.id, text: parts.at(-1)!, parts, final: last.message, raw };
}

describe("ChatGPT web backend", () => {
  it("holds a three-turn conversation kept server-side", async (t) => {
    const sim = await testSim(t, { sessions: { "sess-ok-0000000000001": "ok" } });
    const session = await authSession(sim, "sess-ok-0000000000001");
    assert.equal(session.status, 200);
    assert.ok(session.body.accessToken && session.body.user?.email && session.body.expires);
    const token = session.body.accessToken;
    const root = randomUUID();
    const one = await readTurn(await post(sim, token, conversationBody("What is a river?", root)));
    for (let i = 1; i < one.parts.length; i++) assert.ok(one.parts[i]!.startsWith(one.parts[i - 1]!), "parts are cumulative");
    assert.equal(one.final.author.role, "assistant");
    assert.equal(one.final.status, "finished_successfully");
    assert.equal(one.final.end_turn, true);
    assert.match(one.text, /You said: "What is a river\?"/);
    const two = await readTurn(await post(sim, token, conversationBody("And a lake?", one.messageId, one.conversationId)));
    const three = await readTurn(await post(sim, token, conversationBody("Thanks!", two.messageId, two.conversationId)));
    assert.equal(two.conversationId, one.conversationId);
    assert.equal(three.conversationId, one.conversationId);

    const res = await fetch(`${sim.url}/backend-api/conversation/${one.conversationId}`, { headers: { authorization: `Bearer ${token}` } });
    const conv = (await res.json()) as {
      title: string;
      current_node: string;
      mapping: Record<string, { id: string; parent: string | null; children: string[]; message: { author: { role: string }; content: { parts: string[] } } | null }>;
    };
    assert.equal(conv.current_node, three.messageId);
    assert.equal(Object.keys(conv.mapping).length, 7, "root + 3 user + 3 assistant");
    // Walk from the current node up to the root.
    const roles: string[] = [];
    for (let id: string | null = conv.current_node; id !== null; id = conv.mapping[id]!.parent) {
      roles.push(conv.mapping[id]!.message?.author.role ?? "root");
    }
    assert.deepEqual(roles, ["assistant", "user", "assistant", "user", "assistant", "user", "root"]);
    assert.equal(conv.mapping[root]?.children.length, 1);
    assert.equal(conv.mapping[three.messageId]?.message?.content.parts[0], three.text);
    assert.equal(conv.title, "What is a river?");

    const list = (await (await fetch(`${sim.url}/backend-api/conversations?offset=0&limit=20`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      items: Array<{ id: string; title: string; create_time: string; update_time: string }>;
      total: number;
      limit: number;
      offset: number;
    };
    assert.equal(list.total, 1);
    assert.equal(list.items[0]?.id, one.conversationId);
    assert.equal(list.limit, 20);

    const unknownConversation = await post(sim, token, conversationBody("hi", three.messageId, randomUUID()));
    assert.equal(unknownConversation.status, 404);
    const unknownParent = await post(sim, token, conversationBody("hi", randomUUID(), one.conversationId));
    assert.equal(unknownParent.status, 404);
    assert.equal((await fetch(`${sim.url}/backend-api/conversation/${randomUUID()}`, { headers: { authorization: `Bearer ${token}` } })).status, 404);
    assert.equal(sim.session("sess-ok-0000000000001").stats.messages, 3);
    assert.ok(sim.requests("sess-ok-0000000000001").some((r) => r.path === "/backend-api/conversation" && r.status === 200));
  });

  it("rotate: each session call sets a new token; the old one stops working", async (t) => {
    const sim = await testSim(t, { sessions: { "sess-rotate-00000001": "rotate" } });
    const first = await authSession(sim, "sess-rotate-00000001");
    assert.ok(first.body.accessToken);
    const cookie = first.setCookie ?? "";
    const match = new RegExp(`^${COOKIE.replace(/\./g, "\\.")}=([^;]+);`).exec(cookie);
    assert.ok(match, `Set-Cookie: ${cookie}`);
    assert.match(cookie, /HttpOnly; Secure; SameSite=Lax/);
    const next = match[1]!;
    assert.notEqual(next, "sess-rotate-00000001");
    assert.deepEqual((await authSession(sim, "sess-rotate-00000001")).body, {}, "the old token is signed out");
    const second = await authSession(sim, next);
    assert.ok(second.body.accessToken);
    assert.ok(second.setCookie && !second.setCookie.includes(next));
    assert.equal(sim.session("sess-rotate-00000001").rotations, 2);
  });

  it("short-lived: the access token expires; /backend-api answers 401 token_expired", async (t) => {
    const sim = await testSim(t, { sessions: { "sess-short-000000001": "short-lived:ms=400" } });
    const token = (await authSession(sim, "sess-short-000000001")).body.accessToken!;
    const ok = await fetch(`${sim.url}/backend-api/conversations`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    await new Promise((r) => setTimeout(r, 450));
    const res = await post(sim, token, conversationBody("hi", randomUUID()));
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), {
      detail: {
        message: "Your authentication token has expired. Please try signing in again.",
        type: "invalid_request_error",
        param: null,
        code: "token_expired",
      },
    });
    const fresh = (await authSession(sim, "sess-short-000000001")).body.accessToken!;
    assert.equal((await post(sim, fresh, conversationBody("hi", randomUUID()))).status, 200);
    const bogus = await post(sim, "not-a-token", conversationBody("hi", randomUUID()));
    assert.equal(bogus.status, 401);
  });

  it("only one message at a time per account: 429 while a reply streams", async (t) => {
    const sim = await testSim(t, { sessions: { "sess-slow-0000000001": "slow:ms=10,chunk_ms=60" } });
    const token = (await authSession(sim, "sess-slow-0000000001")).body.accessToken!;
    const first = await post(sim, token, conversationBody("tell me a long story", randomUUID()));
    assert.equal(first.status, 200);
    const second = await post(sim, token, conversationBody("and another", randomUUID()));
    assert.equal(second.status, 429);
    assert.deepEqual(await second.json(), {
      detail: "Only one message at a time. Please allow any other responses to complete before sending another message, or wait one minute.",
    });
    await readTurn(first);
    const third = await post(sim, token, conversationBody("now?", randomUUID()));
    await readTurn(third);
  });

  it("cf-required: 403 challenge page unless cf_clearance and the User-Agent match", async (t) => {
    const sim = await testSim(t, { sessions: { "sess-cf-000000000001": { behaviour: "cf-required", clearance: "clear-123", ua: UA } } });
    const blocked = await authSession(sim, "sess-cf-000000000001");
    assert.equal(blocked.status, 403);
    assert.match(blocked.text, /<title>Just a moment\.\.\.<\/title>/);
    const wrongUa = await authSession(sim, "sess-cf-000000000001", { cookie: "cf_clearance=clear-123" });
    assert.equal(wrongUa.status, 403);
    const passed = await authSession(sim, "sess-cf-000000000001", { cookie: "cf_clearance=clear-123", ua: UA });
    assert.equal(passed.status, 200);
    const token = passed.body.accessToken!;
    const noCookie = await post(sim, token, conversationBody("hi", randomUUID()), { "user-agent": UA });
    assert.equal(noCookie.status, 403);
    const ok = await post(sim, token, conversationBody("hi", randomUUID()), { "user-agent": UA, cookie: "cf_clearance=clear-123" });
    await readTurn(ok);
  });

  it("expired sessions, unknown sessions and reset connections", async (t) => {
    const sim = await testSim(t, { sessions: { "sess-expired-0000001": "expired", "sess-reset-000000001": "reset:after=chunks:1" } });
    const expired = await authSession(sim, "sess-expired-0000001");
    assert.equal(expired.status, 200);
    assert.deepEqual(expired.body, { error: "RefreshAccessTokenError" });
    assert.deepEqual((await authSession(sim, "nobody-knows-this-one")).body, {});
    const token = (await authSession(sim, "sess-reset-000000001")).body.accessToken!;
    const res = await post(sim, token, conversationBody("hi", randomUUID()));
    assert.equal(res.status, 200);
    await assert.rejects(res.text());
    assert.equal(sim.session("sess-reset-000000001").stats.statuses.reset, 1);
  });
});
