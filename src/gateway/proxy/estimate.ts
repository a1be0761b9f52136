/**
 * Usage counted locally, for answers that carry none (relays that ignore
 * `stream_options.include_usage`, or drop `usage` from JSON): the prompt's
 * text from the request, the answer's text from its JSON or its SSE events,
 * both counted with the model's tokenizer. Without it such answers would be
 * free: no client token quota, no usage record. Records made this way are
 * marked `estimated`.
 */
import { createParser } from "eventsource-parser";
import { tokenCounter, type TokenCounter } from "../../chat/tokens.ts";
import type { TokenUsage } from "../../pool/types.ts";
import type { ProxyRoute } from "./routes.ts";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The text of a content value: a string, or parts whose `text` is taken. */
function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let out = "";
  for (const part of content) if (isObject(part) && typeof part.text === "string") out += part.text;
  return out;
}

/** A prompt value of completions, embeddings or responses: a string, strings, or messages. */
function inputText(input: unknown): string {
  if (typeof input === "string") return input;
  if (!Array.isArray(input)) return "";
  return input.map((x) => (typeof x === "string" ? x : isObject(x) ? contentText(x.content) : "")).join("\n");
}

function promptTokens(route: ProxyRoute, body: Json, counter: TokenCounter): number {
  if (route === "chat" && Array.isArray(body.messages)) {
    return counter.chat(body.messages.filter(isObject).map((m) => ({ role: typeof m.role === "string" ? m.role : "user", content: contentText(m.content) })));
  }
  const text = route === "completions" ? inputText(body.prompt) : route === "responses" ? inputText(body.input) + contentText(body.instructions) : route === "embeddings" ? inputText(body.input) : "";
  return counter.text(text);
}

/** The text of one answer object or stream event. */
function answerText(route: ProxyRoute, o: Json): string {
  if (route === "responses") {
    if (o.type === "response.output_text.delta" && typeof o.delta === "string") return o.delta;
    if (typeof o.output_text === "string") return o.output_text;
    if (!Array.isArray(o.output)) return "";
    let out = "";
    for (const item of o.output) if (isObject(item)) out += contentText(item.content);
    return out;
  }
  if (!Array.isArray(o.choices)) return "";
  let out = "";
  for (const c of o.choices) {
    if (!isObject(c)) continue;
    if (typeof c.text === "string") out += c.text;
    const m = isObject(c.delta) ? c.delta : isObject(c.message) ? c.message : null;
    if (m !== null) out += contentText(m.content) + (typeof m.refusal === "string" ? m.refusal : "");
  }
  return out;
}

/** The answer's text: every event's part of a stream, or the JSON answer's. Unreadable parts count as nothing. */
export function answerTextOf(route: ProxyRoute, body: Buffer, sse: boolean): string {
  if (!sse) {
    try {
      const o: unknown = JSON.parse(body.toString("utf8"));
      return isObject(o) ? answerText(route, o) : "";
    } catch {
      return "";
    }
  }
  let out = "";
  const parser = createParser({
    onEvent(ev) {
      if (ev.data === "[DONE]") return;
      try {
        const o: unknown = JSON.parse(ev.data);
        // Responses streams repeat the whole text in their final events: only the deltas count.
        if (isObject(o) && (route !== "responses" || o.type === "response.output_text.delta")) out += answerText(route, o);
      } catch {
        // not JSON: nothing to count
      }
    },
  });
  parser.feed(body.toString("utf8"));
  parser.feed("\n\n");
  return out;
}

/**
 * Counts a request and its answer. `request` is the parsed request body;
 * `answer` the answer's text as kept (`keptShare` < 1 when only part of a
 * long answer was kept: its count is scaled up).
 */
export async function estimateUsage(route: ProxyRoute, model: string, request: Json, answer: string, keptShare = 1): Promise<TokenUsage> {
  const counter = await tokenCounter(model);
  const completion = route === "embeddings" ? 0 : counter.text(answer);
  return { promptTokens: promptTokens(route, request, counter), completionTokens: Math.round(completion / Math.max(keptShare, 1e-6)) };
}
