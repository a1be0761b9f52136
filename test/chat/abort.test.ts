/**
 * An aborted or timed-out message stores nothing: no orphan question, no
 * half reply, counters untouched; the conversation carries on from its last
 * complete turn, and the error says which of the two happened.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatAbortedError, ChatClient, ChatTimeoutError } from "../../src/chat/index.ts";
import { KeypoolError } from "../../src/errors/index.ts";
import { completionBodies, sessionToken, simKey, STORE_KINDS, testPool, testSim, testStore } from "./helpers.ts";

for (const kind of STORE_KINDS) {
  describe(`abort and timeout (${kind} store)`, () => {
    it("leaves the conversation as it was after an abort mid-stream or a timeout", async (t) => {
      const fast = simKey("fast");
      const slow = simKey("slowkey");
      const sim = await testSim(t, { keys: { [fast]: "ok", [slow]: "slow:ms=10,chunk_ms=60" } });
      const pool = await testPool(t, sim, await testStore(t, kind), { keys: [fast] });
      const chat = new ChatClient({ pool, model: "gpt-4o-mini" });
      const s = chat.session("impatient");
      await s.send("a complete first turn");
      const conv = (await s.current())!;
      const usage = await s.usage();
      await pool.remove(pool.list()[0]!.id);
      await pool.add(slow);

      const controller = new AbortController();
      const seen: string[] = [];
      await assert.rejects(
        s.send("this one is aborted", {
          signal: controller.signal,
          onProgress: (p) => {
            seen.push(p.delta);
            if (seen.length === 2) controller.abort();
          },
        }),
        (err: unknown) => {
          assert.ok(err instanceof ChatAbortedError, String(err));
          assert.equal(err.code, "KP_CHAT_ABORTED");
          assert.ok(KeypoolError.is(err));
          return true;
        },
      );
      assert.equal(seen.length, 2, "the reply had started streaming");

      await assert.rejects(s.send("this one times out", { timeoutMs: 150 }), (err: unknown) => {
        assert.ok(err instanceof ChatTimeoutError, String(err));
        assert.equal(err.code, "KP_CHAT_TIMEOUT");
        assert.match(err.message, /150 ms/);
        return true;
      });
      // A signal that fired before the call: refused at once.
      await assert.rejects(s.send("never sent", { signal: AbortSignal.abort() }), ChatAbortedError);

      const after = (await s.current())!;
      assert.deepEqual(after, conv, "the conversation record did not move");
      const history = await s.history();
      assert.deepEqual(history.map((m) => m.text).filter((x) => x.includes("aborted") || x.includes("times out") || x.includes("never")), [], "no orphan question");
      assert.deepEqual(await s.usage(), usage, "the client's counters did not move");

      await pool.remove(pool.list()[0]!.id);
      await pool.add(fast);
      await s.send("and on we go");
      assert.deepEqual(
        completionBodies(sim).at(-1)!.messages.filter((m) => m.role === "user").map((m) => m.content),
        ["a complete first turn", "and on we go"],
        "the next turn continues from the last complete one",
      );
    });
  });
}

it("a web turn aborted mid-stream stores nothing and the conversation continues", async (t) => {
  const token = sessionToken("abortweb");
  const sim = await testSim(t, { sessions: { [token]: "ok" } });
  const pool = await testPool(t, sim, await testStore(t, "memory"));
  const { added } = await pool.add({ kind: "web", secret: token, baseURL: sim.url });
  const chat = new ChatClient({ pool, backend: "web" });
  const s = chat.session("webby");
  const first = await s.send("first");
  sim.setSession(token, "slow:ms=5,chunk_ms=60");
  const controller = new AbortController();
  await assert.rejects(
    s.send("aborted", { signal: controller.signal, onProgress: () => controller.abort() }),
    ChatAbortedError,
  );
  await assert.rejects(s.send("timed out", { timeoutMs: 100 }), ChatTimeoutError);
  assert.equal((await s.history()).length, 2);
  sim.setSession(token, "ok");
  const next = await s.send("next");
  assert.equal(next.conversationId, first.conversationId);
  const post = sim.requests(token).filter((r) => r.path === "/backend-api/conversation").at(-1)!.body as { parent_message_id: string };
  assert.equal(post.parent_message_id, (await s.history())[1]!.remoteId, "continued from the last stored reply");
  assert.equal(pool.get(added[0]!.id)?.state, "active", "an abort is not the account's fault");
});

it("a failing onProgress callback ends the turn with its own error, and no credential is blamed", async (t) => {
  const key = simKey("callback");
  const token = sessionToken("callbackweb");
  const sim = await testSim(t, { keys: { [key]: "ok" }, sessions: { [token]: "ok" } });
  const pool = await testPool(t, sim, await testStore(t, "memory"), { keys: [key] });
  await pool.add({ kind: "web", secret: token, baseURL: sim.url });
  for (const backend of ["api", "web"]) {
    const s = new ChatClient({ pool, backend, ...(backend === "api" ? { model: "gpt-4o-mini" } : {}) }).session(`cb-${backend}`);
    const boom = new Error(`callback broke (${backend})`);
    await assert.rejects(
      s.send("hello", {
        onProgress: () => {
          throw boom;
        },
      }),
      (err: unknown) => err === boom,
    );
    assert.deepEqual(await s.history(), []);
    assert.match((await s.send("hello again")).text, /hello again/);
  }
  await new Promise((r) => setTimeout(r, 50));
  for (const v of pool.list()) {
    assert.equal(v.state, "active");
    assert.equal(v.failures, 0, `${v.kind} credential not blamed`);
  }
});
