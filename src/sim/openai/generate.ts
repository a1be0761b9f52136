import { fail, type ApiRequest, type ApiResult } from "./api-types.ts";
import { invalidType, invalidValue, missingParam, modelNotFound, wrongEndpoint } from "./errors.ts";
import { modelInfo, type Endpoint, type ModelInfo } from "./models.ts";
import { loadTokenizer, tokenizerNow, type Tokenizer } from "./tokens.ts";

export interface Prepared {
  readonly model: ModelInfo;
  readonly tokenizer: Tokenizer;
}

const WRONG_ENDPOINT: Record<Endpoint, string> = {
  chat: "This is not a chat model and thus not supported in the v1/chat/completions endpoint. Did you mean to use v1/completions?",
  completions: "This is a chat model and not supported in the v1/completions endpoint. Did you mean to use v1/chat/completions?",
  responses: "This model is not supported in the v1/responses endpoint.",
  embeddings: "This model does not support embeddings. Use an embedding model such as text-embedding-3-small.",
};

/**
 * The `model` field: present, known to this key, and able to serve
 * `endpoint`; a `retry` result while its tokenizer loads.
 */
export function prepare(r: ApiRequest, endpoint: Endpoint): Prepared | ApiResult {
  const id = r.body.model;
  if (id === undefined) return fail(missingParam("model"));
  if (typeof id !== "string") return fail(invalidType("model", "a string", id));
  const model = modelInfo(id, r.state.behaviour.models);
  if (model === undefined) return fail(modelNotFound(id));
  if (!model.endpoints.has(endpoint)) return fail(wrongEndpoint(WRONG_ENDPOINT[endpoint]));
  const tokenizer = tokenizerNow(model.encoding);
  if (tokenizer === undefined) return { kind: "retry", ready: loadTokenizer(model.encoding) };
  return { model, tokenizer };
}

export function isResult(value: Prepared | ApiResult): value is ApiResult {
  return "kind" in value;
}

/** Reads the first present of `names` as a completion-token limit. */
export function readMaxTokens(
  body: Record<string, unknown>,
  names: readonly string[],
  model: ModelInfo,
  fallback: number | null = null,
): number | null | ApiResult {
  for (const name of names) {
    const value = body[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== "number" || !Number.isInteger(value)) return fail(invalidType(name, "an integer", value));
    if (value < 1) {
      return fail(invalidValue(name, `Invalid '${name}': integer below minimum value. Expected a value >= 1, but got ${value} instead.`));
    }
    if (value > model.maxOutput) {
      return fail(
        invalidValue(
          name,
          `${name} is too large: ${value}. This model supports at most ${model.maxOutput} completion tokens, whereas you provided ${value}.`,
        ),
      );
    }
    return value;
  }
  return fallback;
}

/** Common checks of sampling parameters, named as OpenAI names them. */
export function checkSampling(body: Record<string, unknown>): ApiResult | null {
  const t = body.temperature;
  if (t !== undefined && t !== null) {
    if (typeof t !== "number") return fail(invalidType("temperature", "a decimal", t));
    if (t < 0 || t > 2) {
      return fail(invalidValue("temperature", `Invalid 'temperature': decimal out of range. Expected a value between 0 and 2, but got ${t} instead.`));
    }
  }
  const n = body.n;
  if (n !== undefined && n !== null && n !== 1) {
    return fail(invalidValue("n", "The simulator answers one choice only: n must be 1."));
  }
  const stream = body.stream;
  if (stream !== undefined && stream !== null && typeof stream !== "boolean") return fail(invalidType("stream", "a boolean", stream));
  if (body.stream_options != null && stream !== true) {
    return fail(invalidValue("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled."));
  }
  return null;
}

/** Counts the call against the key's per-model limits (adding the headers); null, or the 429. */
export function admit(r: ApiRequest, model: ModelInfo, tokens: number): ApiResult | null {
  const refused = r.state.limiter.admit(model.id, tokens, r.now, r.headers);
  r.rated = true;
  return refused === null ? null : fail(refused);
}

/** Whether a stream ends with the usage chunk: asked for, and the key's relay does not ignore the ask. */
export function includeUsage(r: ApiRequest): boolean {
  if (!r.state.behaviour.streamUsage) return false;
  const options = r.body.stream_options;
  return typeof options === "object" && options !== null && (options as Record<string, unknown>).include_usage === true;
}

/** Adds the headers of an SSE answer. */
export function sseHeaders(r: ApiRequest): void {
  r.headers.push("content-type", "text/event-stream; charset=utf-8", "cache-control", "no-cache");
}
export const DONE = "data: [DONE]\n\n";
