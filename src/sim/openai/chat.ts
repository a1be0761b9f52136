import { contextLength } from "./errors.ts";
import type { ApiRequest, ApiResult } from "./api-types.ts";
import { admit, checkSampling, DONE, includeUsage, isResult, prepare, readMaxTokens, SSE_HEADERS } from "./generate.ts";
import { countMessages, countTools, isPromptResult } from "./prompt.ts";
import { replyFor, type Reply } from "./reply.ts";
import { randomId } from "../http/ids.ts";

const FINGERPRINT = "fp_sim0000001";

function usageJson(prompt: number, completion: number): string {
  return `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion},"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`;
}

/** `POST /v1/chat/completions`, JSON or streamed. */
export async function chatCompletions(r: ApiRequest): Promise<ApiResult> {
  const bad = checkSampling(r.body);
  if (bad) return bad;
  const prepared = await prepare(r, "chat");
  if (isResult(prepared)) return prepared;
  const { model, tokenizer } = prepared;
  const prompt = countMessages(r.body.messages, tokenizer);
  if (isPromptResult(prompt)) return prompt;
  const promptTokens = prompt.tokens + countTools(r.body, tokenizer);
  const maxTokens = readMaxTokens(r.body, ["max_completion_tokens", "max_tokens"], model);
  if (typeof maxTokens === "object" && maxTokens !== null) return maxTokens;
  if (promptTokens + (maxTokens ?? 0) > model.contextWindow) {
    return { kind: "error", answer: contextLength(model.contextWindow, promptTokens, maxTokens, "messages") };
  }
  const reply = replyFor(prompt.lastUserText, tokenizer, maxTokens);
  const headers = admit(r, model, promptTokens + reply.tokens);
  if (!Array.isArray(headers)) return headers;
  const id = randomId("chatcmpl-", 29);
  const created = Math.floor(r.now / 1000);
  const usage = { model, prompt: promptTokens, completion: reply.tokens };
  if (r.body.stream === true) {
    headers.push(...SSE_HEADERS);
    return { kind: "stream", pieces: streamPieces(id, created, model.id, reply, promptTokens, includeUsage(r.body)), headers, usage };
  }
  const body = `{"id":"${id}","object":"chat.completion","created":${created},"model":${JSON.stringify(model.id)},"choices":[{"index":0,"message":{"role":"assistant","content":${JSON.stringify(reply.text)},"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"${reply.finishReason}"}],"usage":${usageJson(promptTokens, reply.tokens)},"service_tier":"default","system_fingerprint":"${FINGERPRINT}"}`;
  return { kind: "json", body, headers, usage };
}

function streamPieces(id: string, created: number, model: string, reply: Reply, prompt: number, withUsage: boolean): string[] {
  const usageField = withUsage ? ',"usage":null' : "";
  const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"service_tier":"default","system_fingerprint":"${FINGERPRINT}","choices":[{"index":0,"delta":`;
  const pieces: string[] = [`${head}{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]${usageField}}\n\n`];
  for (const piece of reply.pieces) {
    pieces.push(`${head}{"content":${JSON.stringify(piece)}},"logprobs":null,"finish_reason":null}]${usageField}}\n\n`);
  }
  pieces.push(`${head}{},"logprobs":null,"finish_reason":"${reply.finishReason}"}]${usageField}}\n\n`);
  if (withUsage) {
    pieces.push(
      `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"service_tier":"default","system_fingerprint":"${FINGERPRINT}","choices":[],"usage":${usageJson(prompt, reply.tokens)}}\n\n`,
    );
  }
  pieces.push(DONE);
  return pieces;
}
