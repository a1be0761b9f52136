/**
 * The model a quarantined key's trial completion asks for. Pure. The key's
 * own allow-list first; then what its `GET /models` listing offers, a cheap
 * chat model where there is one (a relay may serve none of OpenAI's names,
 * and an embedding or image model can't answer a chat completion).
 */
const PREFERRED = ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-3.5-turbo"];
const CHAT_LIKE = /gpt|chat|turbo|claude|llama|qwen|deepseek|mistral|gemini|glm/i;
const NOT_CHAT = /embed|whisper|tts|dall-e|image|moderation|audio|realtime|transcribe|search/i;

/** Used when neither the key nor its listing names a model. */
export const DEFAULT_TRIAL_MODEL = "gpt-4o-mini";

/** Model ids from an OpenAI-shaped listing (`{data: [{id}]}`); anything else gives none. */
export function listedModels(body: unknown): string[] {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return [];
  return data.map((m) => (m as { id?: unknown } | null)?.id).filter((id): id is string => typeof id === "string" && id !== "");
}

export function trialModel(allowed: readonly string[] | null, listing: readonly string[]): string {
  if (allowed !== null && allowed.length > 0) return allowed[0]!;
  for (const m of PREFERRED) if (listing.includes(m)) return m;
  return listing.find((m) => CHAT_LIKE.test(m) && !NOT_CHAT.test(m)) ?? DEFAULT_TRIAL_MODEL;
}
