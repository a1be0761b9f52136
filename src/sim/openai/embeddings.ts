import { fail, type ApiRequest, type ApiResult } from "./api-types.ts";
import { contextLength, emptyArray, invalidType, invalidValue, missingParam } from "./errors.ts";
import { admit, isResult, prepare } from "./generate.ts";
import type { Tokenizer } from "./tokens.ts";

const MAX_INPUTS = 2048;

/** A unit vector derived from the text: same text, same vector. */
function vector(text: string, dims: number): Float32Array {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  let x = h >>> 0 || 1;
  const out = new Float32Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const v = ((x >>> 0) / 4294967296) * 2 - 1;
    out[i] = v;
    norm += v * v;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < dims; i++) out[i]! *= scale;
  return out;
}

function encodeVector(v: Float32Array, base64: boolean): string {
  if (base64) return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")}"`;
  let s = "[";
  for (let i = 0; i < v.length; i++) s += (i === 0 ? "" : ",") + v[i]!.toPrecision(8);
  return `${s}]`;
}

/** Inputs as texts: strings, or token arrays (decoded, so that they count the same). */
function inputs(input: unknown, tokenizer: Tokenizer): string[] | ApiResult {
  if (input === undefined) return fail(missingParam("input"));
  if (typeof input === "string") return [input];
  if (!Array.isArray(input)) return fail(invalidType("input", "a string or an array", input));
  if (input.length === 0) return fail(emptyArray("input"));
  if (input.length > MAX_INPUTS) return fail(invalidValue("input", `Invalid 'input': array too long. Expected an array with maximum length ${MAX_INPUTS}, but got an array with length ${input.length} instead.`));
  if (typeof input[0] === "number") return [tokenizer.decode(input as number[])];
  const out: string[] = [];
  for (let i = 0; i < input.length; i++) {
    const item: unknown = input[i];
    if (typeof item === "string") out.push(item);
    else if (Array.isArray(item)) out.push(tokenizer.decode(item as number[]));
    else return fail(invalidType(`input[${i}]`, "a string or an array of integers", item));
  }
  return out;
}

/** `POST /v1/embeddings`: deterministic vectors, float or base64. */
export function embeddings(r: ApiRequest): ApiResult {
  const prepared = prepare(r, "embeddings");
  if (isResult(prepared)) return prepared;
  const { model, tokenizer } = prepared;
  const texts = inputs(r.body.input, tokenizer);
  if (!Array.isArray(texts)) return texts;
  const format = r.body.encoding_format ?? "float";
  if (format !== "float" && format !== "base64") {
    return fail(invalidValue("encoding_format", `Invalid value: '${String(format)}'. Supported values are: 'float' and 'base64'.`));
  }
  let dims = model.dimensions;
  const asked = r.body.dimensions;
  if (asked !== undefined && asked !== null) {
    if (!model.flexibleDimensions) return fail(invalidValue("dimensions", "This model does not support specifying dimensions."));
    if (typeof asked !== "number" || !Number.isInteger(asked) || asked < 1 || asked > model.dimensions) {
      return fail(invalidValue("dimensions", `Invalid 'dimensions': expected an integer between 1 and ${model.dimensions}.`));
    }
    dims = asked;
  }
  let tokens = 0;
  for (const text of texts) {
    const n = tokenizer.count(text);
    if (n > model.contextWindow) return fail(contextLength(model.contextWindow, n, null, "input"));
    tokens += n;
  }
  const refused = admit(r, model, tokens);
  if (refused !== null) return refused;
  const base64 = format === "base64";
  let data = "";
  for (let i = 0; i < texts.length; i++) {
    data += `${i === 0 ? "" : ","}{"object":"embedding","index":${i},"embedding":${encodeVector(vector(texts[i]!, dims), base64)}}`;
  }
  const body = `{"object":"list","data":[${data}],"model":${model.idJson},"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`;
  return { kind: "json", body, usage: { model, prompt: tokens, completion: 0 } };
}
