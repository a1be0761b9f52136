/**
 * The official `openai` SDK pointed at a running gateway (`keypool serve`):
 * nothing of keypool in the app, only a base URL and a client token.
 *
 *   OPENAI_BASE_URL=http://127.0.0.1:8787/v1 OPENAI_API_KEY=kp-... node examples/openai-gateway.ts
 *
 * While the gateway has no client token and listens on loopback, any API key
 * is let through, so OPENAI_API_KEY may be left out.
 */
import OpenAI from "openai";

const openai = new OpenAI({
  baseURL: process.env.OPENAI_BASE_URL ?? "http://127.0.0.1:8787/v1",
  apiKey: process.env.OPENAI_API_KEY ?? "no-client-token-yet",
});

const reply = await openai.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello in five words." }],
});
console.log(`reply: ${reply.choices[0]?.message.content}`);
console.log(`usage: ${reply.usage?.total_tokens} tokens`);

const stream = await openai.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Count to five." }],
  stream: true,
});
let streamed = "";
let chunks = 0;
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta.content ?? "";
  chunks++;
}
console.log(`streamed: ${chunks} chunks: ${streamed}`);

const models = await openai.models.list();
console.log(`models: ${models.data.length}`);
