/** Token usage from any OpenAI answer shape: chat and completions, embeddings, the Responses API. */
import type { TokenUsage } from "../pool/types.ts";

export type { TokenUsage };

const n = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);

export function usageOf(value: unknown): TokenUsage | null {
  if (typeof value !== "object" || value === null) return null;
  const o = value as Record<string, unknown>;
  // Responses API stream: {type: "response.completed", response: {usage}}
  const u = (o.usage ?? (o.response as Record<string, unknown> | undefined)?.usage) as Record<string, unknown> | null | undefined;
  if (typeof u !== "object" || u === null) return null;
  if ("prompt_tokens" in u || "completion_tokens" in u) return { promptTokens: n(u.prompt_tokens), completionTokens: n(u.completion_tokens) };
  if ("input_tokens" in u || "output_tokens" in u) return { promptTokens: n(u.input_tokens), completionTokens: n(u.output_tokens) };
  return null;
}
