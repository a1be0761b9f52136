import type { GptEncoding } from "gpt-tokenizer/GptEncoding";

/**
 * Real token counts from gpt-tokenizer. An encoding loads once (the first
 * takes a few hundred ms, so the simulator preloads o200k_base), and counts of
 * short strings are cached: a benchmark sends the same text over and over.
 */
export type EncodingName = "o200k_base" | "cl100k_base" | "p50k_base" | "p50k_edit" | "r50k_base" | "gpt2" | "o200k_harmony";

const LOADERS: Record<EncodingName, () => Promise<{ default: GptEncoding }>> = {
  o200k_base: () => import("gpt-tokenizer/encoding/o200k_base"),
  cl100k_base: () => import("gpt-tokenizer/encoding/cl100k_base"),
  p50k_base: () => import("gpt-tokenizer/encoding/p50k_base"),
  p50k_edit: () => import("gpt-tokenizer/encoding/p50k_edit"),
  r50k_base: () => import("gpt-tokenizer/encoding/r50k_base"),
  gpt2: () => import("gpt-tokenizer/encoding/gpt2"),
  o200k_harmony: () => import("gpt-tokenizer/encoding/o200k_harmony"),
};

/** User text may contain `<|endoftext|>`: count it as text, never throw. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };
const CACHE_MAX_ENTRIES = 20_000;
const CACHE_MAX_LENGTH = 1_024;

export class Tokenizer {
  readonly name: EncodingName;
  readonly #encoding: GptEncoding;
  #counts = new Map<string, number>();

  constructor(name: EncodingName, encoding: GptEncoding) {
    this.name = name;
    this.#encoding = encoding;
  }

  count(text: string): number {
    if (text.length === 0) return 0;
    if (text.length > CACHE_MAX_LENGTH) return this.#encoding.encode(text, AS_TEXT).length;
    let n = this.#counts.get(text);
    if (n === undefined) {
      n = this.#encoding.encode(text, AS_TEXT).length;
      if (this.#counts.size >= CACHE_MAX_ENTRIES) this.#counts = new Map();
      this.#counts.set(text, n);
    }
    return n;
  }

  encode(text: string): number[] {
    return this.#encoding.encode(text, AS_TEXT);
  }

  decode(tokens: readonly number[]): string {
    return this.#encoding.decode(tokens);
  }
}

const loaded = new Map<EncodingName, Tokenizer>();
const loading = new Map<EncodingName, Promise<Tokenizer>>();

/** The tokenizer if already loaded (the hot path: no await). */
export function tokenizerNow(name: EncodingName): Tokenizer | undefined {
  return loaded.get(name);
}

export function loadTokenizer(name: EncodingName): Promise<Tokenizer> {
  let promise = loading.get(name);
  if (!promise) {
    promise = LOADERS[name]().then((mod) => {
      const tokenizer = new Tokenizer(name, mod.default);
      loaded.set(name, tokenizer);
      return tokenizer;
    });
    loading.set(name, promise);
  }
  return promise;
}
