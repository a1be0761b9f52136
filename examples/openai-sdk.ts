/**
 * The official `openai` SDK with the pool as its `fetch`: every request gets a
 * credential from the pool, and a key's failure fails over to another key
 * before the SDK sees it.
 *
 *   KEYPOOL_KEYS=sk-a,sk-b node examples/openai-sdk.ts
 *
 * KEYPOOL_UPSTREAM (default https://api.openai.com/v1) and KEYPOOL_STORE
 * (default memory here) as for the gateway.
 */
import OpenAI from "openai";
import { createPool } from "keypool";

const pool = await createPool({
  store: process.env.KEYPOOL_STORE ?? "memory",
  upstream: process.env.KEYPOOL_UPSTREAM ?? "https://api.openai.com/v1",
  keys: (process.env.KEYPOOL_KEYS ?? "").split(",").filter((k) => k !== ""),
});
// The SDK wants an API key; the pool replaces it with one of its own per request.
const openai = new OpenAI({ apiKey: "pooled", fetch: pool.fetch });

const reply = await openai.chat.completions.create({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello in five words." }],
});
console.log(`reply: ${reply.choices[0]?.message.content}`);

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

// What the pool learnt on the way: a revoked key is retired, an empty one quarantined.
for (const k of pool.list()) console.log(`key ${k.key}: ${k.state}${k.reason === null ? "" : ` (${k.reason})`}`);
await pool.close();
