import type { Tokenizer } from "./tokens.ts";

/**
 * Deterministic replies: a short sentence picked by a hash of the input,
 * then an echo of the input's start. Same input, same reply, same usage.
 */
export interface Reply {
  readonly text: string;
  /** `text` as a JSON string literal. */
  readonly json: string;
  /** Stream deltas: each a word with its leading space; they join to `text`. */
  readonly pieces: readonly string[];
  /** The pieces as JSON string literals. */
  readonly pieceJson: readonly string[];
  readonly tokens: number;
  readonly finishReason: "stop" | "length";
}

const OPENERS = ["Sure.", "Of course.", "Certainly.", "Good question.", "Here is a thought.", "Noted.", "Understood.", "Right."];
const ADJECTIVES = ["quiet", "bright", "patient", "curious", "steady", "gentle", "clever", "distant", "careful", "golden"];
const NOUNS = ["river", "lantern", "garden", "engine", "harbor", "compass", "library", "orchard", "signal", "meadow"];
const VERBS = ["remembers", "follows", "answers", "carries", "guides", "balances", "collects", "mirrors"];
const ECHO_CHARS = 80;

function hash32(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function pick<T>(list: readonly T[], h: number, shift: number): T {
  // `^` gives a signed 32-bit result: back to unsigned before the modulo, or the index can go negative.
  return list[(((h >>> shift) ^ (h >>> (shift + 7))) >>> 0) % list.length]!;
}

export function replyText(input: string): string {
  const h = hash32(input);
  const sentence = `${pick(OPENERS, h, 0)} The ${pick(ADJECTIVES, h, 3)} ${pick(NOUNS, h, 7)} ${pick(VERBS, h, 11)} the ${pick(ADJECTIVES, h, 15)} ${pick(NOUNS, h, 19)}.`;
  const flat = input.replace(/\s+/g, " ").trim();
  if (flat === "") return sentence;
  const echo = flat.length > ECHO_CHARS ? `${flat.slice(0, ECHO_CHARS).trimEnd()}…` : flat;
  return `${sentence} You said: "${echo}"`;
}

function split(text: string): string[] {
  const pieces: string[] = text.match(/\s*\S+/g) ?? [];
  let length = 0;
  for (const piece of pieces) length += piece.length;
  if (length < text.length) pieces.push(text.slice(length));
  return pieces;
}

function make(text: string, tokens: number, finishReason: Reply["finishReason"]): Reply {
  const pieces = split(text);
  return { text, json: JSON.stringify(text), pieces, pieceJson: pieces.map((p) => JSON.stringify(p)), tokens, finishReason };
}

const caches = new WeakMap<Tokenizer, Map<string, Reply>>();
const CACHE_MAX = 5_000;

/** The reply to `input`, cut to `maxTokens` when given (finish reason `length`). */
export function replyFor(input: string, tokenizer: Tokenizer, maxTokens: number | null): Reply {
  let cache = caches.get(tokenizer);
  if (cache === undefined) caches.set(tokenizer, (cache = new Map()));
  let full = cache.get(input);
  if (full === undefined) {
    const text = replyText(input);
    full = make(text, tokenizer.count(text), "stop");
    if (input.length <= 2048) {
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(input, full);
    }
  }
  if (maxTokens === null || maxTokens >= full.tokens) return full;
  const ids = tokenizer.encode(full.text).slice(0, maxTokens);
  const text = tokenizer.decode(ids).replace(/\uFFFD+$/, "");
  return make(text, maxTokens, "length");
}
