/**
 * Token counts with a real tokenizer (gpt-tokenizer), the encoding chosen by
 * the model's name. Chat messages are counted as OpenAI counts them for current
 * models (the cookbook rule, which gpt-tokenizer's `encodeChat` follows too):
 * 3 tokens per message plus its role and content, and 3 to prime the reply.
 */
import type { GptEncoding } from "gpt-tokenizer/GptEncoding";

export type EncodingName = "o200k_base" | "o200k_harmony" | "cl100k_base" | "p50k_base" | "r50k_base";

const LOADERS: Record<EncodingName, () => Promise<{ default: GptEncoding }>> = {
  o200k_base: () => import("gpt-tokenizer/encoding/o200k_base"),
  o200k_harmony: () => import("gpt-tokenizer/encoding/o200k_harmony"),
  cl100k_base: () => import("gpt-tokenizer/encoding/cl100k_base"),
  p50k_base: () => import("gpt-tokenizer/encoding/p50k_base"),
  r50k_base: () => import("gpt-tokenizer/encoding/r50k_base"),
};

/** The encoding a model uses; unknown models (relays' own names, `auto`) get the current one. */
export function encodingFor(model: string): EncodingName {
  const name = (model.split("/").pop() ?? model).toLowerCase();
  if (name.startsWith("gpt-oss")) return "o200k_harmony";
  if (/^(gpt-4o|gpt-4\.[1-9]|gpt-[5-9]|o[1-9]|chatgpt|codex|gpt-realtime|gpt-audio|omni)/.test(name)) return "o200k_base";
  if (/^(gpt-4|gpt-3\.5|gpt-35|text-embedding)/.test(name)) return "cl100k_base";
  if (/^(text-davinci-00[23]|code-)/.test(name)) return "p50k_base";
  if (/^(davinci|curie|babbage|ada|text-(ada|babbage|curie|davinci)-001)/.test(name)) return "r50k_base";
  return "o200k_base";
}

/** Per message overhead and reply priming of the chat format. */
export const TOKENS_PER_MESSAGE = 3;
export const REPLY_PRIMING = 3;

/** Longest text encoded in one call; a run without spaces is cut after RUN; text past COUNTED is counted by proportion. */
const SLICE = 1024;
const RUN = 256;
const COUNTED = 64 * 1024;

/** User text may contain `<|endoftext|>`: count it as text, never throw. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

export class TokenCounter {
  readonly encoding: EncodingName;
  readonly #enc: GptEncoding;

  constructor(encoding: EncodingName, enc: GptEncoding) {
    this.encoding = encoding;
    this.#enc = enc;
  }

  /**
   * Exact for text up to a slice; longer text is counted slice by slice, cut at spaces, and
   * past COUNTED by proportion. BPE is quadratic on a long run without spaces (a pasted blob
   * of base64 or a log line would take minutes); the slices keep it bounded, a few tokens off.
   */
  text(s: string): number {
    if (s.length === 0) return 0;
    if (s.length <= SLICE) return this.#enc.encode(s, AS_TEXT).length;
    const part = s.length > COUNTED ? s.slice(0, COUNTED) : s;
    let n = 0;
    for (let i = 0; i < part.length; ) {
      let end = Math.min(part.length, i + SLICE);
      if (end < part.length) {
        const space = part.lastIndexOf(" ", end);
        end = space > i + RUN ? space : i + RUN;
      }
      n += this.#enc.encode(part.slice(i, end), AS_TEXT).length;
      i = end;
    }
    return part.length === s.length ? n : Math.round((n * s.length) / part.length);
  }

  /** One chat message: its overhead, role and content. */
  message(role: string, content: string): number {
    return TOKENS_PER_MESSAGE + this.text(role) + this.text(content);
  }

  /** A whole prompt: its messages and the reply priming. */
  chat(messages: readonly { role: string; content: string }[]): number {
    let n = REPLY_PRIMING;
    for (const m of messages) n += this.message(m.role, m.content);
    return n;
  }
}

const counters = new Map<EncodingName, Promise<TokenCounter>>();

/** The counter for a model; each encoding loads once (the first takes a few hundred ms). */
export function tokenCounter(model: string): Promise<TokenCounter> {
  const name = encodingFor(model);
  let p = counters.get(name);
  if (p === undefined) {
    p = LOADERS[name]().then((m) => new TokenCounter(name, m.default));
    counters.set(name, p);
  }
  return p;
}
