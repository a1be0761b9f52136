import { randomId } from "../http/ids.ts";
import { fail, type ApiRequest, type ApiResult } from "./api-types.ts";
import { contextLength, invalidType, invalidValue, missingParam } from "./errors.ts";
import { admit, checkSampling, DONE, includeUsage, isResult, prepare, readMaxTokens, sseHeaders } from "./generate.ts";
import { replyFor, type Reply } from "./reply.ts";

/** The legacy endpoint's default when `max_tokens` is absent. */
const DEFAULT_MAX_TOKENS = 16;

function usageJson(prompt: number, completion: number): string {
  return `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion}}`;
}

function promptText(prompt: unknown): string | ApiResult {
  if (prompt === undefined) return fail(missingParam("prompt"));
  if (typeof prompt === "string") return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === "string") return prompt[0];
  if (Array.isArray(prompt)) return fail(invalidValue("prompt", "The simulator accepts one prompt: a string or an array of one string."));
  return fail(invalidType("prompt", "a string or an array of strings", prompt));
}

/** `POST /v1/completions`, JSON or streamed. */
export function completions(r: ApiRequest): ApiResult {
  const bad = checkSampling(r.body);
  if (bad) return bad;
  const prepared = prepare(r, "completions");
  if (isResult(prepared)) return prepared;
  const { model, tokenizer } = prepared;
  const text = promptText(r.body.prompt);
  if (typeof text !== "string") return text;
  const promptTokens = tokenizer.count(text);
  const maxTokens = readMaxTokens(r.body, ["max_tokens"], model, DEFAULT_MAX_TOKENS);
  if (typeof maxTokens === "object" && maxTokens !== null) return maxTokens;
  if (promptTokens + (maxTokens ?? 0) > model.contextWindow) {
    return fail(contextLength(model.contextWindow, promptTokens, maxTokens, "prompt"));
  }
  const reply = replyFor(text, tokenizer, maxTokens);
  const refused = admit(r, model, promptTokens + reply.tokens);
  if (refused !== null) return refused;
  const id = randomId("cmpl-", 29);
  const created = Math.floor(r.now / 1000);
  const usage = { model, prompt: promptTokens, completion: reply.tokens };
  if (r.body.stream === true) {
    sseHeaders(r);
    return { kind: "stream", body: (streamPieces(id, created, model.idJson, reply, promptTokens, includeUsage(r))), usage };
  }
  const body = `{"id":"${id}","object":"text_completion","created":${created},"model":${model.idJson},"choices":[{"text":${reply.json},"index":0,"logprobs":null,"finish_reason":"${reply.finishReason}"}],"usage":${usageJson(promptTokens, reply.tokens)},"system_fingerprint":null}`;
  return { kind: "json", body, usage };
}

function streamPieces(id: string, created: number, modelJson: string, reply: Reply, prompt: number, withUsage: boolean): string[] {
  const head = `data: {"id":"${id}","object":"text_completion","created":${created},"model":${modelJson},"choices":[{"text":`;
  const tail = withUsage ? `,"system_fingerprint":null,"usage":null}\n\n` : `,"system_fingerprint":null}\n\n`;
  const pieces: string[] = [];
  for (const piece of reply.pieceJson) pieces.push(`${head}${piece},"index":0,"logprobs":null,"finish_reason":null}]${tail}`);
  pieces.push(`${head}"","index":0,"logprobs":null,"finish_reason":"${reply.finishReason}"}]${tail}`);
  if (withUsage) {
    pieces.push(
      `data: {"id":"${id}","object":"text_completion","created":${created},"model":${modelJson},"choices":[],"system_fingerprint":null,"usage":${usageJson(prompt, reply.tokens)}}\n\n`,
    );
  }
  pieces.push(DONE);
  return pieces;
}
