/** The chat client's pure parts: the per-key queue, the token budget, the web stream and session answers. */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { encodeChat } from "gpt-tokenizer/model/gpt-4o-mini";
import { fixedCost, takeNewest } from "../../src/chat/context.ts";
import { ContextTooLongError } from "../../src/chat/errors/index.ts";
import { KeyedQueue } from "../../src/chat/keyed-queue.ts";
import { encodingFor, tokenCounter } from "../../src/chat/tokens.ts";
import { cachedAccessToken, readSessionAnswer, rotatedToken, SESSION_COOKIE } from "../../src/chat/backends/web/web-auth.ts";
import { readWebReply } from "../../src/chat/backends/web/web-stream.ts";
import { record } from "../helpers/records.ts";
import type { ChatMessage } from "../../src/store/types.ts";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("KeyedQueue", () => {
  it("runs one task at a time per key, in order, and keys side by side", async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([q.run("a", task("a1")), q.run("a", task("a2")), q.run("b", task("b1")), q.run("a", task("a3"))]);
    assert.deepEqual(results, ["a1", "a2", "b1", "a3"]);
    const a = log.filter((l) => l.endsWith("a1") || l.endsWith("a2") || l.endsWith("a3"));
    assert.deepEqual(a, ["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"]);
    assert.ok(log.indexOf("start b1") < log.indexOf("end a1"), "another key does not wait");
    assert.equal(q.pending("a"), 0);
  });

  it("lets a waiting task leave on abort; the ones behind it keep their order", async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    const controller = new AbortController();
    const first = q.run("k", async () => {
      await tick();
      log.push("first");
    });
    const second = q.run("k", async () => log.push("second"), controller.signal);
    const third = q.run("k", async () => log.push("third"));
    controller.abort(new Error("gone"));
    await assert.rejects(second, /gone/);
    await Promise.all([first, third]);
    assert.deepEqual(log, ["first", "third"]);
    assert.equal(q.pending("k"), 0);
    await assert.rejects(q.run("k", async () => 1, AbortSignal.abort(new Error("early"))), /early/);
  });

  it("keeps going after a task throws", async () => {
    const q = new KeyedQueue();
    await assert.rejects(q.run("k", async () => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(await q.run("k", async () => 42), 42);
  });
});

describe("token budget", () => {
  it("picks the model's encoding, unknown models the current one", () => {
    assert.equal(encodingFor("gpt-4o-mini"), "o200k_base");
    assert.equal(encodingFor("gpt-4"), "cl100k_base");
    assert.equal(encodingFor("gpt-3.5-turbo"), "cl100k_base");
    assert.equal(encodingFor("gpt-oss-20b"), "o200k_harmony");
    assert.equal(encodingFor("openai/gpt-4.1"), "o200k_base");
    assert.equal(encodingFor("auto"), "o200k_base");
  });

  it("counts a chat as gpt-tokenizer's encodeChat does", async () => {
    const c = await tokenCounter("gpt-4o-mini");
    const chat = [
      { role: "system" as const, content: "You are terse." },
      { role: "user" as const, content: "Hello, how are you today? <|endoftext|>" },
      { role: "assistant" as const, content: "Fine, thanks — and you? 你好" },
    ];
    assert.equal(c.chat(chat), encodeChat(chat, undefined, { disallowedSpecial: new Set() }).length);
  });

  it("keeps the newest messages without holes, and refuses a message that alone is too long", async () => {
    const c = await tokenCounter("gpt-4o-mini");
    const msg = (id: string, role: "user" | "assistant", text: string): ChatMessage => ({ id, conversationId: "c", parentMessageId: null, role, text, model: null, credentialId: null, usage: null, remoteId: null, createdAt: 0 });
    const newestFirst = [msg("4", "assistant", "short"), msg("3", "user", "a much longer message than the others ".repeat(5)), msg("2", "assistant", "tiny"), msg("1", "user", "x")];
    const room = c.message("assistant", "short") + 5;
    const { taken, full } = takeNewest(newestFirst, room, c);
    assert.deepEqual(taken.map((m) => m.id), ["4"], "stops at the first that doesn't fit, even if older ones would");
    assert.equal(full, true);
    assert.throws(() => fixedCost("system", "word ".repeat(100), 50, c), ContextTooLongError);
    assert.equal(fixedCost(null, "hi", 50, c), 3 + c.message("user", "hi"));
  });
});

describe("web session wire details", () => {
  it("finds a rotated session token in Set-Cookie, whole or chunked", () => {
    assert.equal(rotatedToken(undefined), null);
    assert.equal(rotatedToken([`other=1; Path=/`, `${SESSION_COOKIE}=new.token; Path=/; HttpOnly`]), "new.token");
    assert.equal(rotatedToken([`${SESSION_COOKIE}.1=second; Path=/`, `${SESSION_COOKIE}.0=first; Path=/`]), "firstsecond");
    assert.equal(rotatedToken(`${SESSION_COOKIE}=; Path=/; Max-Age=0`), null, "a cleared cookie is no token");
  });

  it("reads /api/auth/session answers as outcomes", () => {
    const h = { get: () => undefined };
    const payload = Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600 })).toString("base64url");
    const ok = readSessionAnswer(200, h, JSON.stringify({ accessToken: `h.${payload}.s` }), Date.now());
    assert.equal(ok.outcome.kind, "success");
    assert.ok(ok.expires! > Date.now() + 3_500_000);
    const refresh = readSessionAnswer(200, h, '{"error":"RefreshAccessTokenError"}', Date.now());
    assert.equal(refresh.outcome.kind, "invalid");
    assert.equal(refresh.outcome.code, "RefreshAccessTokenError");
    assert.equal(readSessionAnswer(200, h, "{}", Date.now()).outcome.code, "not_signed_in");
    const cf = readSessionAnswer(403, { get: (n: string) => (n === "cf-mitigated" ? "challenge" : undefined) }, "<html>", Date.now());
    assert.equal(cf.outcome.kind, "auth_ambiguous", "a challenge never retires a session");
    assert.equal(readSessionAnswer(502, h, "bad gateway", Date.now()).outcome.kind, "upstream_fault");
  });

  it("trusts a cached access token until a margin before it expires", () => {
    const now = 1_000_000;
    const rec = record("sess-cache-000000000000000", { kind: "web", meta: { accessToken: "tok", accessTokenExpires: String(now + 3_600_000), accessTokenIssued: String(now) } });
    assert.equal(cachedAccessToken(rec, now), "tok");
    assert.equal(cachedAccessToken(rec, now + 3_600_000 - 30_000), null, "refreshed a minute before it expires");
    assert.equal(cachedAccessToken({ ...rec, meta: {} }, now), null);
  });

  it("turns cumulative parts into deltas; a stream closed after text without [DONE] is done", async () => {
    const event = (text: string, id = "m1") => `data: ${JSON.stringify({ message: { id, author: { role: "assistant" }, content: { content_type: "text", parts: [text] }, metadata: { model_slug: "gpt-4o" } }, conversation_id: "conv-1", error: null })}\n\n`;
    const user = `data: ${JSON.stringify({ message: { id: "u1", author: { role: "user" }, content: { parts: ["question"] } }, conversation_id: "conv-1" })}\n\n`;
    const deltas: string[] = [];
    const reply = await readWebReply(Readable.from([user, event("Hel"), event("Hello"), "data: not json\n\n", event("Hello, world")]), (d) => deltas.push(d));
    assert.deepEqual(deltas, ["Hel", "lo", ", world"]);
    assert.equal(reply.text, "Hello, world");
    assert.equal(reply.sawDone, false);
    assert.equal(reply.messageId, "m1");
    assert.equal(reply.conversationId, "conv-1");
    assert.equal(reply.model, "gpt-4o");
    const withDone = await readWebReply(Readable.from([event("Hi"), "data: [DONE]\n\n"]), () => {});
    assert.equal(withDone.sawDone, true);
    await assert.rejects(readWebReply(Readable.from([user]), () => {}), /closed the stream before any reply/);
    await assert.rejects(readWebReply(Readable.from([`data: {"message":null,"error":"Something went wrong"}\n\n`]), () => {}), /Something went wrong/);
  });
});
