/**
 * The api backend on each store: every turn sends the stored chain as
 * context (checked against what the simulator received), trimmed to the
 * token budget with the system message kept and the oldest turns dropped.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeChat } from "gpt-tokenizer/model/gpt-4o-mini";
import { ChatClient, ContextTooLongError } from "../../src/chat/index.ts";
import { completionBodies, eventually, simKey, STORE_KINDS, testPool, testSim, testStore } from "./helpers.ts";

type Msg = { role: "system" | "user" | "assistant"; content: string };
const count = (messages: Msg[]): number => encodeChat(messages).length;

for (const kind of STORE_KINDS) {
  describe(`chat over API keys (${kind} store)`, () => {
    it("sends the whole chain on each of ten turns and stores both sides", async (t) => {
      const keys = [simKey("ctxa"), simKey("ctxb")];
      const sim = await testSim(t, { keys: Object.fromEntries(keys.map((k) => [k, "ok"])) });
      const pool = await testPool(t, sim, await testStore(t, kind), { keys });
      const chat = new ChatClient({ pool, model: "gpt-4o-mini", systemMessage: "You are terse." });
      const expected: Msg[] = [{ role: "system", content: "You are terse." }];
      let conversationId: string | undefined;
      let promptTotal = 0;
      for (let i = 0; i < 10; i++) {
        const text = `Turn ${i}: tell me about item number ${i * 7}.`;
        const deltas: string[] = [];
        const reply = await chat.sendMessage(text, { ...(conversationId === undefined ? {} : { conversationId }), onProgress: (p) => deltas.push(p.delta) });
        conversationId ??= reply.conversationId;
        assert.equal(reply.conversationId, conversationId);
        assert.equal(reply.role, "assistant");
        assert.equal(deltas.join(""), reply.text, "the deltas add up to the reply");
        assert.match(reply.credential ?? "", /^sk-ctx[ab]-…\d{4}$/, "the credential is masked");
        const sent = completionBodies(sim).at(-1)!;
        assert.deepEqual(sent.messages, [...expected, { role: "user", content: text }], `turn ${i} carries the whole chain`);
        assert.equal(reply.usage.estimated, false);
        assert.equal(reply.usage.promptTokens, count(sent.messages as Msg[]), "prompt usage is the tokenizer's count");
        promptTotal += reply.usage.promptTokens;
        expected.push({ role: "user", content: text }, { role: "assistant", content: reply.text });
      }
      const conv = await chat.conversation(conversationId!);
      assert.equal(conv?.messageCount, 20);
      assert.equal(conv?.promptTokens, promptTotal);
      const history = await chat.history(conversationId!);
      assert.deepEqual(
        history.map((m) => ({ role: m.role, content: m.text })),
        expected.slice(1),
      );
      // Chat traffic shows in the pool's usage views, with no client token.
      await eventually(async () => (await pool.usage({ groupBy: ["token"] })).reduce((n, r) => n + r.requests, 0) === 10);
      const [row] = await pool.usage({ groupBy: ["token"] });
      assert.equal(row?.tokenId ?? null, null);
      assert.equal(row?.promptTokens, promptTotal);
    });

    it("trims to a small budget: the system message stays, the oldest turns go first", async (t) => {
      const key = simKey("trim");
      const sim = await testSim(t, { keys: { [key]: "ok" } });
      const pool = await testPool(t, sim, await testStore(t, kind), { keys: [key] });
      const maxContextTokens = 220;
      const maxResponseTokens = 60;
      const budget = maxContextTokens - maxResponseTokens;
      const system = "Answer in one sentence.";
      const chat = new ChatClient({ pool, model: "gpt-4o-mini", systemMessage: system, maxContextTokens, maxResponseTokens });
      const full: Msg[] = [];
      let conversationId: string | undefined;
      let trimmed = 0;
      for (let i = 0; i < 8; i++) {
        const text = `Question ${i} about the weather in city ${i}?`;
        const reply = await chat.sendMessage(text, conversationId === undefined ? {} : { conversationId });
        conversationId = reply.conversationId;
        const sent = completionBodies(sim).at(-1)!;
        assert.equal(sent.messages[0]?.role, "system");
        assert.equal(sent.messages[0]?.content, system, "the system message is always first");
        assert.deepEqual(sent.messages.at(-1), { role: "user", content: text }, "the new message is always last");
        const history = sent.messages.slice(1, -1) as Msg[];
        assert.deepEqual(history, full.slice(full.length - history.length), "what is kept is the newest part of the chain");
        assert.ok(count(sent.messages as Msg[]) <= budget, `turn ${i}: ${count(sent.messages as Msg[])} tokens fit the budget of ${budget}`);
        if (history.length < full.length) {
          trimmed++;
          const withOneMore = [sent.messages[0] as Msg, full[full.length - history.length - 1]!, ...history, { role: "user" as const, content: text }];
          assert.ok(count(withOneMore) > budget, `turn ${i}: the next older message would not have fit`);
        }
        assert.equal(sent.model, "gpt-4o-mini");
        full.push({ role: "user", content: text }, { role: "assistant", content: reply.text });
      }
      assert.ok(trimmed >= 3, `the budget trimmed several turns (${trimmed})`);
      // Everything is still stored; only what is sent is trimmed.
      assert.equal((await chat.history(conversationId!)).length, 16);

      const before = await chat.conversation(conversationId!);
      const requests = completionBodies(sim).length;
      await assert.rejects(chat.sendMessage("word ".repeat(400), { conversationId: conversationId! }), (err: unknown) => {
        assert.ok(err instanceof ContextTooLongError);
        assert.equal(err.code, "KP_CHAT_CONTEXT_TOO_LONG");
        assert.equal(err.budget, budget);
        assert.match(err.message, /context budget is 160/);
        return true;
      });
      assert.equal(completionBodies(sim).length, requests, "nothing was sent");
      assert.deepEqual(await chat.conversation(conversationId!), before, "nothing was stored");
    });
  });
}
