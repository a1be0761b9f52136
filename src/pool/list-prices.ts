/**
 * OpenAI's list prices, USD per million tokens (input, output), for the
 * models people pool most; checked against openai.com/api/pricing in
 * November 2026. Listed here because gpt-tokenizer's table, the fallback,
 * lacks the mini models and embeddings and carries stale figures for some
 * others (gpt-4o at $10/$30). A dated id (`gpt-4o-mini-2024-07-18`) is
 * priced as its base name. Users override any of it with `prices`.
 */
export const LIST_PRICES: Readonly<Record<string, { readonly input: number; readonly output: number }>> = {
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4.1": { input: 2, output: 8 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "gpt-5": { input: 1.25, output: 10 },
  "gpt-5-mini": { input: 0.25, output: 2 },
  "gpt-5-nano": { input: 0.05, output: 0.4 },
  o3: { input: 2, output: 8 },
  "o3-mini": { input: 1.1, output: 4.4 },
  "o4-mini": { input: 1.1, output: 4.4 },
  "gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  "gpt-3.5-turbo-instruct": { input: 1.5, output: 2 },
  "gpt-4": { input: 30, output: 60 },
  "gpt-4-turbo": { input: 10, output: 30 },
  "davinci-002": { input: 2, output: 2 },
  "babbage-002": { input: 0.4, output: 0.4 },
  "text-embedding-3-small": { input: 0.02, output: 0 },
  "text-embedding-3-large": { input: 0.13, output: 0 },
  "text-embedding-ada-002": { input: 0.1, output: 0 },
};

/** `gpt-4o-mini-2024-07-18` → `gpt-4o-mini`; other names unchanged. */
export function undated(model: string): string {
  return model.replace(/-\d{4}-\d{2}-\d{2}$/, "");
}
