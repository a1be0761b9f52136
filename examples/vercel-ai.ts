/**
 * The Vercel AI SDK (`ai`) with `@ai-sdk/openai`'s provider over the pool:
 * `createOpenAI({ baseURL, fetch: pool.fetch })`. The same provider pointed at
 * a gateway instead takes `baseURL: "http://127.0.0.1:8787/v1"` and a client
 * token as `apiKey`, and no `fetch`.
 *
 *   KEYPOOL_KEYS=sk-a,sk-b node examples/vercel-ai.ts
 */
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";
import { createPool } from "keypool";

const upstream = process.env.KEYPOOL_UPSTREAM ?? "https://api.openai.com/v1";
const pool = await createPool({
  store: process.env.KEYPOOL_STORE ?? "memory",
  upstream,
  keys: (process.env.KEYPOOL_KEYS ?? "").split(",").filter((k) => k !== ""),
});
const openai = createOpenAI({ baseURL: upstream, apiKey: "pooled", fetch: pool.fetch });

// openai(model) speaks the Responses API; openai.chat(model) chat completions. Both go through the pool.
const { text, usage } = await generateText({ model: openai("gpt-4o-mini"), prompt: "Say hello in five words." });
console.log(`generateText: ${text} (${usage.totalTokens} tokens)`);

const result = streamText({ model: openai.chat("gpt-4o-mini"), prompt: "Count to five." });
let streamed = "";
let parts = 0;
for await (const delta of result.textStream) {
  streamed += delta;
  parts++;
}
console.log(`streamText: ${parts} parts: ${streamed}`);
await pool.close();
