/**
 * LangChain.js: `@langchain/openai`'s ChatOpenAI over the pool, through
 * `configuration: { baseURL, fetch }` (passed on to the openai SDK inside).
 *
 *   KEYPOOL_KEYS=sk-a,sk-b node examples/langchain.ts
 */
import { ChatOpenAI } from "@langchain/openai";
import { createPool } from "keypool";

const upstream = process.env.KEYPOOL_UPSTREAM ?? "https://api.openai.com/v1";
const pool = await createPool({
  store: process.env.KEYPOOL_STORE ?? "memory",
  upstream,
  keys: (process.env.KEYPOOL_KEYS ?? "").split(",").filter((k) => k !== ""),
});
const model = new ChatOpenAI({ model: "gpt-4o-mini", apiKey: "pooled", configuration: { baseURL: upstream, fetch: pool.fetch } });

const message = await model.invoke("Say hello in five words.");
console.log(`invoke: ${message.text}`);

let streamed = "";
let chunks = 0;
for await (const chunk of await model.stream("Count to five.")) {
  streamed += chunk.text;
  chunks++;
}
console.log(`stream: ${chunks} chunks: ${streamed}`);
await pool.close();
