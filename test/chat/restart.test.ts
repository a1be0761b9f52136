/**
 * A process restarted on SQLite or Redis carries on every client's
 * conversation: the pool and client are closed and opened again on the same
 * store, and the next message goes out with the right context.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatClient } from "../../src/chat/index.ts";
import { createPool } from "../../src/create-pool.ts";
import { completionBodies, sessionToken, simKey, testSim, testStore, type StoreKind } from "./helpers.ts";

const PERSISTENT: StoreKind[] = ["sqlite", "redis"];

for (const kind of PERSISTENT) {
  describe(`chat across a restart (${kind} store)`, () => {
    it("continues each client's conversation with its context", async (t) => {
      const key = simKey("restart");
      const sim = await testSim(t, { keys: { [key]: "ok" } });
      const store = await testStore(t, kind, 8);
      const open = () => createPool({ upstream: `${sim.url}/v1`, health: false, ...store.options });

      const before = await open();
      await before.add(key);
      const chat1 = new ChatClient({ pool: before, model: "gpt-4o-mini", systemMessage: "Be kind." });
      const said: Record<string, string[]> = { ann: [], ben: [] };
      for (const client of ["ann", "ben"]) {
        for (let i = 0; i < 2; i++) {
          const q = `${client} asks thing ${i}`;
          const r = await chat1.session(client).send(q);
          said[client]!.push(q, r.text);
        }
      }
      const benFirst = (await chat1.session("ben").current())!.id;
      await chat1.session("ben").reset();
      await chat1.session("ben").send("ben starts over");
      await before.close();

      const after = await open();
      t.after(() => after.close());
      const chat2 = new ChatClient({ pool: after, model: "gpt-4o-mini", systemMessage: "Be kind." });
      await chat2.session("ann").send("ann carries on");
      const sent = completionBodies(sim).at(-1)!.messages;
      assert.deepEqual(
        sent.map((m) => m.content),
        ["Be kind.", ...said.ann!, "ann carries on"],
        "the first message after the restart carries the whole conversation",
      );
      const ben = chat2.session("ben");
      assert.equal((await ben.history()).length, 2, "ben's current conversation is the one he started over");
      assert.equal((await ben.conversations()).length, 2);
      await ben.switch(benFirst);
      await ben.send("ben goes back");
      assert.deepEqual(completionBodies(sim).at(-1)!.messages.map((m) => m.content), ["Be kind.", ...said.ben!, "ben goes back"]);
    });

    it("counts both turns when two processes answer in one conversation at once", async (t) => {
      const key = simKey("together");
      const sim = await testSim(t, { keys: { [key]: "ok" } });
      const store = await testStore(t, kind, 8);
      const open = async () => {
        const pool = await createPool({ upstream: `${sim.url}/v1`, health: false, ...store.options });
        t.after(() => pool.close());
        return pool;
      };
      const poolA = await open();
      await poolA.add(key);
      const poolB = await open();
      const a = new ChatClient({ pool: poolA, model: "gpt-4o-mini" });
      const b = new ChatClient({ pool: poolB, model: "gpt-4o-mini" });
      const first = await a.sendMessage("we start here");
      const [ra, rb] = await Promise.all([a.sendMessage("from process a", { conversationId: first.conversationId }), b.sendMessage("from process b", { conversationId: first.conversationId })]);
      const conv = await a.conversation(first.conversationId);
      assert.equal(conv?.messageCount, 6, "three turns of two messages, none lost");
      assert.equal(conv?.promptTokens, first.usage.promptTokens + ra.usage.promptTokens + rb.usage.promptTokens);
      assert.equal(conv?.completionTokens, first.usage.completionTokens + ra.usage.completionTokens + rb.usage.completionTokens);
    });

    it("keeps a web conversation on its account and reuses the cached access token", async (t) => {
      const token = sessionToken("restartweb");
      const sim = await testSim(t, { sessions: { [token]: "rotate" } });
      const store = await testStore(t, kind, 8);
      const open = () => createPool({ upstream: `${sim.url}/v1`, health: false, ...store.options });
      const before = await open();
      const { added } = await before.add({ kind: "web", secret: token, baseURL: sim.url });
      const id = added[0]!.id;
      const web1 = new ChatClient({ pool: before, backend: "web" });
      const first = await web1.session("wes").send("hello from before");
      await before.close();

      const after = await open();
      t.after(() => after.close());
      assert.equal(after.record(id)?.secret, sim.session(token).token, "the rotated session token was stored");
      const web2 = new ChatClient({ pool: after, backend: "web" });
      const authCalls = () => sim.requests(token).filter((r) => r.path === "/api/auth/session").length;
      const calls = authCalls();
      const second = await web2.session("wes").send("hello from after");
      assert.equal(second.conversationId, first.conversationId);
      assert.equal(authCalls(), calls, "the access token cached in the store was reused");
      const post = sim.requests(token).filter((r) => r.path === "/backend-api/conversation").at(-1)!.body as Record<string, unknown>;
      const conv = await web2.conversation(first.conversationId);
      assert.equal(post.conversation_id, conv?.remoteId);
      const history = await web2.history(first.conversationId);
      assert.equal(post.parent_message_id, history[1]!.remoteId, "continued from the stored reply's remote id");
    });
  });
}
