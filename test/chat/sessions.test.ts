/**
 * Per-client sessions on each store: fifty clients at once each see only
 * their own history; messages to one conversation go one at a time, in
 * order; reset, switch and the conversation list.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatClient } from "../../src/chat/index.ts";
import { NotFoundError } from "../../src/errors/index.ts";
import { completionBodies, simKey, STORE_KINDS, testPool, testSim, testStore } from "./helpers.ts";

for (const kind of STORE_KINDS) {
  describe(`chat sessions (${kind} store)`, () => {
    it("fifty clients talking at once each see only their own history", async (t) => {
      const keys = [simKey("fifa"), simKey("fifb"), simKey("fifc")];
      const sim = await testSim(t, { keys: Object.fromEntries(keys.map((k) => [k, "ok"])) });
      const pool = await testPool(t, sim, await testStore(t, kind), { keys });
      const chat = new ChatClient({ pool, model: "gpt-4o-mini" });
      const clients = Array.from({ length: 50 }, (_, i) => `client-${String(i).padStart(2, "0")}`);
      const turns = 3;
      await Promise.all(
        clients.map(async (id) => {
          const s = chat.session(id);
          for (let n = 0; n < turns; n++) await s.send(`[${id}] message ${n}`);
        }),
      );
      for (const id of clients) {
        const history = await chat.session(id).history();
        assert.equal(history.length, turns * 2, `${id} has its ${turns} turns`);
        const questions = history.filter((m) => m.role === "user").map((m) => m.text);
        assert.deepEqual(questions, [0, 1, 2].map((n) => `[${id}] message ${n}`), `${id} sees only its own messages, in order`);
        assert.equal((await chat.session(id).conversations()).length, 1);
      }
      // What went upstream: every request holds one client's messages only, and all of its earlier ones.
      const bodies = completionBodies(sim);
      assert.equal(bodies.length, clients.length * turns);
      for (const b of bodies) {
        const users = b.messages.filter((m) => m.role === "user").map((m) => m.content);
        const owner = /^\[(client-\d+)\]/.exec(users[0]!)?.[1];
        assert.ok(users.every((u) => u.startsWith(`[${owner}]`)), "no request mixes two clients");
        assert.deepEqual(users, users.map((_, n) => `[${owner}] message ${n}`), "the context holds the client's earlier turns in order");
      }
      const usage = await chat.session("client-07").usage();
      assert.equal(usage.messages, turns * 2);
      assert.ok(usage.promptTokens > 0 && usage.completionTokens > 0);
      assert.equal(usage.estimatedTokens, 0);
    });

    it("sends messages to one conversation one at a time, in the order they were sent", async (t) => {
      const key = simKey("order");
      const sim = await testSim(t, { keys: { [key]: "slow:ms=20,chunk_ms=2" } });
      const pool = await testPool(t, sim, await testStore(t, kind), { keys: [key] });
      const chat = new ChatClient({ pool, model: "gpt-4o-mini" });
      const s = chat.session("orderly");
      const replies = await Promise.all(["one", "two", "three", "four"].map((w) => s.send(`message ${w}`)));
      for (let i = 1; i < replies.length; i++) assert.equal(replies[i]!.conversationId, replies[0]!.conversationId);
      const bodies = completionBodies(sim);
      assert.deepEqual(
        bodies.map((b) => b.messages.filter((m) => m.role === "user").map((m) => m.content.replace("message ", ""))),
        [["one"], ["one", "two"], ["one", "two", "three"], ["one", "two", "three", "four"]],
        "each message saw the ones before it answered",
      );
      const history = await s.history();
      assert.deepEqual(history.map((m) => m.parentMessageId), [null, ...history.slice(0, -1).map((m) => m.id)], "one unbroken chain");
    });

    it("resets to a new conversation, keeps the old one listable, switches back", async (t) => {
      const key = simKey("reset");
      const sim = await testSim(t, { keys: { [key]: "ok" } });
      const pool = await testPool(t, sim, await testStore(t, kind), { keys: [key] });
      const chat = new ChatClient({ pool, model: "gpt-4o-mini" });
      const s = chat.session("resetter");
      assert.equal(await s.current(), null);
      assert.deepEqual(await s.history(), []);
      const first = await s.send("the first conversation");
      const fresh = await s.reset();
      assert.notEqual(fresh.id, first.conversationId);
      assert.equal((await s.reset()).id, fresh.id, "resetting an empty conversation keeps it");
      assert.deepEqual(await s.history(), []);
      const second = await s.send("the second conversation");
      assert.equal(second.conversationId, fresh.id);
      assert.deepEqual(completionBodies(sim).at(-1)!.messages, [{ role: "user", content: "the second conversation" }], "the new conversation starts empty");
      const list = await s.conversations();
      assert.deepEqual(new Set(list.map((c) => c.id)), new Set([first.conversationId, fresh.id]));
      assert.equal(list.find((c) => c.id === first.conversationId)?.title, "the first conversation");
      await s.switch(first.conversationId);
      assert.equal((await s.current())?.id, first.conversationId);
      await s.send("back to the first");
      assert.deepEqual(
        completionBodies(sim).at(-1)!.messages.filter((m) => m.role === "user").map((m) => m.content),
        ["the first conversation", "back to the first"],
      );
      // Another client can neither switch to nor write into it.
      await assert.rejects(chat.session("intruder").switch(first.conversationId), NotFoundError);
      assert.equal((await chat.session("intruder").conversations()).length, 0);
    });
  });
}
