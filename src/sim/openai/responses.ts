import { randomId } from "../http/ids.ts";
import { fail, type ApiRequest, type ApiResult } from "./api-types.ts";
import { contextLength, errorBody, invalidType } from "./errors.ts";
import { admit, checkSampling, isResult, prepare, readMaxTokens, sseHeaders } from "./generate.ts";
import { countMessages, countTools, isPromptResult } from "./prompt.ts";
import { replyFor, type Reply } from "./reply.ts";

const STORED_MAX = 1000;

/** Turns Responses API `input` (and `instructions`) into chat messages for counting. */
function toMessages(input: unknown, instructions: unknown): unknown[] | ApiResult {
  const messages: unknown[] = [];
  if (typeof instructions === "string") messages.push({ role: "developer", content: instructions });
  if (typeof input === "string") {
    messages.push({ role: "user", content: input });
    return messages;
  }
  if (!Array.isArray(input)) return fail(invalidType("input", "a string or an array of input items", input));
  for (const item of input) {
    const it = item as Record<string, unknown> | null;
    if (typeof it === "object" && it !== null && typeof it.role === "string") messages.push({ role: it.role, content: it.content });
    else messages.push({ role: "tool", content: JSON.stringify(item) });
  }
  return messages;
}

interface Built {
  readonly id: string;
  readonly msgId: string;
  readonly created: number;
  readonly model: string;
  readonly body: Record<string, unknown>;
}

function responseObject(b: Built, reply: Reply | null, prompt: number): Record<string, unknown> {
  const done = reply !== null;
  const incomplete = done && reply.finishReason === "length";
  const item = done
    ? [
        {
          id: b.msgId,
          type: "message",
          status: incomplete ? "incomplete" : "completed",
          content: [{ type: "output_text", annotations: [], logprobs: [], text: reply.text }],
          role: "assistant",
        },
      ]
    : [];
  const { body } = b;
  return {
    id: b.id,
    object: "response",
    created_at: b.created,
    status: !done ? "in_progress" : incomplete ? "incomplete" : "completed",
    background: false,
    error: null,
    incomplete_details: incomplete ? { reason: "max_output_tokens" } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: b.model,
    output: item,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: "default",
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: { type: "text" }, verbosity: "medium" },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: "disabled",
    usage: done
      ? {
          input_tokens: prompt,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: reply.tokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: prompt + reply.tokens,
        }
      : null,
    user: null,
    metadata: body.metadata ?? {},
  };
}

/** `POST /v1/responses`, JSON or streamed with the Responses API events. */
export function responses(r: ApiRequest): ApiResult {
  const bad = checkSampling(r.body);
  if (bad) return bad;
  const prepared = prepare(r, "responses");
  if (isResult(prepared)) return prepared;
  const { model, tokenizer } = prepared;
  const messages = toMessages(r.body.input, r.body.instructions);
  if (!Array.isArray(messages)) return messages;
  const prompt = countMessages(messages, tokenizer, "input");
  if (isPromptResult(prompt)) return prompt;
  let promptTokens = prompt.tokens + countTools(r.body, tokenizer);
  const previous = r.body.previous_response_id;
  if (previous !== undefined && previous !== null) {
    const context = typeof previous === "string" ? r.state.responses.get(previous) : undefined;
    if (context === undefined) {
      const message = `Previous response with id '${String(previous)}' not found.`;
      return fail({ status: 404, body: errorBody(message, "invalid_request_error", "previous_response_id", "previous_response_not_found") });
    }
    promptTokens += context;
  }
  const maxTokens = readMaxTokens(r.body, ["max_output_tokens"], model);
  if (typeof maxTokens === "object" && maxTokens !== null) return maxTokens;
  if (promptTokens + (maxTokens ?? 0) > model.contextWindow) {
    return fail(contextLength(model.contextWindow, promptTokens, maxTokens, "input"));
  }
  const reply = replyFor(prompt.lastUserText, tokenizer, maxTokens);
  const refused = admit(r, model, promptTokens + reply.tokens);
  if (refused !== null) return refused;
  const built: Built = {
    id: randomId("resp_", 48),
    msgId: randomId("msg_", 48),
    created: Math.floor(r.now / 1000),
    model: model.id,
    body: r.body,
  };
  if (r.body.store !== false) {
    const stored = r.state.responses;
    if (stored.size >= STORED_MAX) stored.delete(stored.keys().next().value!);
    stored.set(built.id, promptTokens + reply.tokens);
  }
  const usage = { model, prompt: promptTokens, completion: reply.tokens };
  if (r.body.stream === true) {
    sseHeaders(r);
    return { kind: "stream", body: (streamPieces(built, reply, promptTokens)), usage };
  }
  return { kind: "json", body: JSON.stringify(responseObject(built, reply, promptTokens)), usage };
}

function streamPieces(b: Built, reply: Reply, prompt: number): string[] {
  const pieces: string[] = [];
  let seq = 0;
  const event = (type: string, data: Record<string, unknown>): void => {
    pieces.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
  };
  const initial = responseObject(b, null, prompt);
  event("response.created", { response: initial });
  event("response.in_progress", { response: initial });
  const ids = { item_id: b.msgId, output_index: 0, content_index: 0 };
  event("response.output_item.added", {
    output_index: 0,
    item: { id: b.msgId, type: "message", status: "in_progress", content: [], role: "assistant" },
  });
  event("response.content_part.added", { ...ids, part: { type: "output_text", annotations: [], logprobs: [], text: "" } });
  for (const delta of reply.pieces) {
    pieces.push(
      `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":${seq++},"item_id":"${b.msgId}","output_index":0,"content_index":0,"delta":${JSON.stringify(delta)},"logprobs":[]}\n\n`,
    );
  }
  const final = responseObject(b, reply, prompt);
  const item = (final.output as unknown[])[0];
  event("response.output_text.done", { ...ids, text: reply.text, logprobs: [] });
  event("response.content_part.done", { ...ids, part: { type: "output_text", annotations: [], logprobs: [], text: reply.text } });
  event("response.output_item.done", { output_index: 0, item });
  event(reply.finishReason === "length" ? "response.incomplete" : "response.completed", { response: final });
  return pieces;
}
