import { contextLength } from "./errors.ts";
import type { ApiRequest, ApiResult } from "./api-types.ts";
import { admit, checkSampling, DONE, includeUsage, isResult, prepare, readMaxTokens, sseHeaders } from "./generate.ts";
import { countMessages, countTools, isPromptResult } from "./prompt.ts";
import { replyFor, type Reply } from "./reply.ts";
import { randomId } from "../http/ids.ts";
import { BodyTemplate, fillOr } from "./template.ts";
import type { ModelInfo } from "./models.ts";

const FINGERPRINT = "fp_sim0000001";

function usageJson(prompt: number, completion: number): string {
  return `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion},"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`;
}

/** What a request body comes to, before rate limits and ids: the same for the same body. */
interface ChatPlan {
  readonly model: ModelInfo;
  readonly promptTokens: number;
  readonly reply: Reply;
  readonly stream: boolean;
  readonly withUsage: boolean;
  /** Built on first use. */
  template: BodyTemplate | null | undefined;
}

/**
 * Plans by body object: bodies come from a parse cache, so a repeated request
 * (load tests, retries) skips validation and counting. Keyed also by the
 * key's model allow-list, which decides what the model resolves to.
 */
const PLANS = new WeakMap<object, { readonly models: ReadonlySet<string> | null; readonly plan: ChatPlan | ApiResult }>();

function planChat(r: ApiRequest): ChatPlan | ApiResult {
  const bad = checkSampling(r.body);
  if (bad) return bad;
  const prepared = prepare(r, "chat");
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
  return { model, promptTokens, reply, stream: r.body.stream === true, withUsage: includeUsage(r), template: undefined };
}

/** `POST /v1/chat/completions`, JSON or streamed. */
export function chatCompletions(r: ApiRequest): ApiResult {
  const models = r.state.behaviour.models;
  let memo = PLANS.get(r.body);
  if (memo === undefined || memo.models !== models) {
    const plan = planChat(r);
    if ("kind" in plan && plan.kind === "retry") return plan;
    memo = { models, plan };
    PLANS.set(r.body, memo);
  }
  const plan = memo.plan;
  if ("kind" in plan) return plan;
  const { model, promptTokens, reply } = plan;
  const refused = admit(r, model, promptTokens + reply.tokens);
  if (refused !== null) return refused;
  const values = [randomId("chatcmpl-", 29), String(Math.floor(r.now / 1000))];
  const usage = { model, prompt: promptTokens, completion: reply.tokens };
  if (plan.stream) {
    const render = (v: readonly string[]): string[] => streamPieces(v[0]!, v[1]!, model.idJson, reply, promptTokens, plan.withUsage);
    const renderText = (v: readonly string[]): string => render(v).join("");
    sseHeaders(r);
    if (r.inPieces) return { kind: "stream", body: render(values), usage };
    const template = (plan.template ??= BodyTemplate.build(LENGTHS, renderText));
    return { kind: "stream", body: fillOr(template, values, renderText), usage, recycle: template };
  }
  const renderJson = (v: readonly string[]): string => jsonBody(v[0]!, v[1]!, model.idJson, reply, promptTokens);
  const template = (plan.template ??= BodyTemplate.build(LENGTHS, renderJson));
  return { kind: "json", body: fillOr(template, values, renderJson), usage, recycle: template };
}

/** Hole lengths: the completion id and `created` (10 digits until 2286). */
const LENGTHS = ["chatcmpl-".length + 29, 10];

function jsonBody(id: string, created: string, modelJson: string, reply: Reply, prompt: number): string {
  return `{"id":"${id}","object":"chat.completion","created":${created},"model":${modelJson},"choices":[{"index":0,"message":{"role":"assistant","content":${reply.json},"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"${reply.finishReason}"}],"usage":${usageJson(prompt, reply.tokens)},"service_tier":"default","system_fingerprint":"${FINGERPRINT}"}`;
}

function streamPieces(id: string, created: string, modelJson: string, reply: Reply, prompt: number, withUsage: boolean): string[] {
  const usageField = withUsage ? ',"usage":null' : "";
  const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${modelJson},"service_tier":"default","system_fingerprint":"${FINGERPRINT}","choices":[{"index":0,"delta":`;
  const pieces: string[] = [`${head}{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]${usageField}}\n\n`];
  const tail = `},"logprobs":null,"finish_reason":null}]${usageField}}\n\n`;
  for (const piece of reply.pieceJson) pieces.push(`${head}{"content":${piece}${tail}`);
  pieces.push(`${head}{},"logprobs":null,"finish_reason":"${reply.finishReason}"}]${usageField}}\n\n`);
  if (withUsage) {
    pieces.push(
      `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${modelJson},"service_tier":"default","system_fingerprint":"${FINGERPRINT}","choices":[],"usage":${usageJson(prompt, reply.tokens)}}\n\n`,
    );
  }
  pieces.push(DONE);
  return pieces;
}
