import * as specs from "gpt-tokenizer/models";
import { modelToEncodingMap } from "gpt-tokenizer/mapping";
import type { EncodingName } from "./tokens.ts";
import { LIST_PRICES } from "../../pool/list-prices.ts";

export type Endpoint = "chat" | "completions" | "responses" | "embeddings";

export interface ModelInfo {
  readonly id: string;
  /** `id` as a JSON string literal. */
  readonly idJson: string;
  readonly contextWindow: number;
  readonly maxOutput: number;
  /** USD per 1M tokens. */
  readonly inputPrice: number;
  readonly outputPrice: number;
  readonly endpoints: ReadonlySet<Endpoint>;
  readonly encoding: EncodingName;
  /** Embedding models: vector length, and whether `dimensions` may shorten it. */
  readonly dimensions: number;
  readonly flexibleDimensions: boolean;
  readonly created: number;
}

interface SpecLike {
  readonly supported_endpoints?: readonly string[];
  readonly context_window?: number;
  readonly max_output_tokens?: number;
  readonly price_data?: { readonly main?: { readonly input?: number; readonly output?: number } };
}

const FALLBACK_PRICE = [1, 2] as const;

const COMPLETION_MODELS = new Set(["gpt-3.5-turbo-instruct", "davinci-002", "babbage-002"]);
const EMBEDDING_DIMENSIONS: Record<string, number> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536,
};

function hash32(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function endpointsOf(id: string, spec: SpecLike | undefined): Set<Endpoint> {
  if (COMPLETION_MODELS.has(id)) return new Set(["completions"]);
  if (id in EMBEDDING_DIMENSIONS) return new Set(["embeddings"]);
  if (!spec?.supported_endpoints) return new Set(["chat", "responses", "completions", "embeddings"]);
  const out = new Set<Endpoint>();
  for (const e of spec.supported_endpoints) {
    if (e === "chat_completions") out.add("chat").add("responses");
    else if (e === "responses") out.add("responses");
    else if (e === "completions") out.add("completions");
    else if (e === "embeddings") out.add("embeddings");
  }
  return out;
}

function build(id: string, spec: SpecLike | undefined): ModelInfo {
  const listed = LIST_PRICES[id];
  const price = listed !== undefined ? [listed.input, listed.output] : [spec?.price_data?.main?.input, spec?.price_data?.main?.output];
  const encoding = ((modelToEncodingMap as Record<string, string>)[id] ?? "o200k_base") as EncodingName;
  const dimensions = EMBEDDING_DIMENSIONS[id] ?? 0;
  return {
    id,
    idJson: JSON.stringify(id),
    contextWindow: spec?.context_window ?? (dimensions > 0 ? 8191 : 128_000),
    maxOutput: spec?.max_output_tokens ?? 16_384,
    inputPrice: price[0] ?? FALLBACK_PRICE[0],
    outputPrice: price[1] ?? FALLBACK_PRICE[1],
    endpoints: endpointsOf(id, spec),
    encoding,
    dimensions,
    flexibleDimensions: id.startsWith("text-embedding-3"),
    // Between 2023-03 and 2025-03, stable per id.
    created: 1_678_000_000 + (hash32(id) % 63_000_000),
  };
}

const KNOWN = new Map<string, ModelInfo>();
for (const [id, spec] of Object.entries(specs as unknown as Record<string, SpecLike>)) {
  if (id === "default" || typeof spec !== "object" || spec === null) continue;
  KNOWN.set(id, build(id, spec));
}

/** Models the simulator serves to every key without an allow-list, sorted by id. */
export const KNOWN_MODEL_IDS: readonly string[] = [...KNOWN.keys()].sort();

const custom = new Map<string, ModelInfo>();

/**
 * A model's facts. Names only found in a key's allow-list are served as
 * generic chat models (128k context, o200k_base, fallback price).
 */
export function modelInfo(id: string, allowList: ReadonlySet<string> | null): ModelInfo | undefined {
  if (allowList !== null && !allowList.has(id)) return undefined;
  const known = KNOWN.get(id);
  if (known) return known;
  if (allowList === null) return undefined;
  let info = custom.get(id);
  if (!info) {
    info = build(id, undefined);
    custom.set(id, info);
  }
  return info;
}

/** Cost in USD of a call. */
export function costUsd(model: ModelInfo, promptTokens: number, completionTokens: number): number {
  return (promptTokens * model.inputPrice + completionTokens * model.outputPrice) / 1_000_000;
}

export function modelObject(info: ModelInfo): { id: string; object: "model"; created: number; owned_by: string } {
  return { id: info.id, object: "model", created: info.created, owned_by: info.id.startsWith("gpt-") ? "system" : "openai" };
}
