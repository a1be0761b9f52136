/**
 * Reads a chat completion answer: the SSE stream (`stream: true`) chunk by
 * chunk, or a plain JSON body from an upstream that ignored `stream`. Text
 * deltas go to `onDelta` as they come; usage comes from the last chunk
 * (`stream_options.include_usage`).
 */
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createParser } from "eventsource-parser";
import { classify } from "../../../pool/outcome.ts";
import { usageOf, type TokenUsage } from "../../../transport/usage.ts";
import { ChatUpstreamError } from "../../errors/index.ts";

export interface ReadCompletion {
  text: string;
  usage: TokenUsage | null;
  model: string | null;
  finishReason: string | null;
}

interface Chunk {
  model?: unknown;
  error?: unknown;
  choices?: { delta?: { content?: unknown }; message?: { content?: unknown }; finish_reason?: unknown }[];
}

function upstreamError(value: unknown, where: string): ChatUpstreamError {
  const outcome = classify({ status: 500, body: { error: value } });
  return new ChatUpstreamError(`keypool chat: the upstream reported an error ${where}: ${outcome.message ?? "no message"}`, outcome);
}

export async function readCompletion(body: Readable, contentType: string, onDelta: (delta: string) => void): Promise<ReadCompletion> {
  const out: ReadCompletion = { text: "", usage: null, model: null, finishReason: null };
  const take = (c: Chunk, streamed: boolean): void => {
    if (c.error !== undefined && c.error !== null) throw upstreamError(c.error, streamed ? "mid-stream" : "in its answer");
    if (typeof c.model === "string" && out.model === null) out.model = c.model;
    const choice = c.choices?.[0];
    const content = streamed ? choice?.delta?.content : choice?.message?.content;
    if (typeof content === "string" && content !== "") {
      out.text += content;
      onDelta(content);
    }
    if (typeof choice?.finish_reason === "string") out.finishReason = choice.finish_reason;
    const u = usageOf(c);
    if (u !== null) out.usage = u;
  };

  const decoder = new StringDecoder("utf8");
  if (!contentType.includes("text/event-stream")) {
    let raw = "";
    for await (const chunk of body) raw += decoder.write(chunk as Buffer);
    raw += decoder.end();
    let parsed: Chunk;
    try {
      parsed = JSON.parse(raw) as Chunk;
    } catch {
      throw new ChatUpstreamError(`keypool chat: the upstream's answer is neither an event stream nor JSON (${raw.slice(0, 80)})`, null);
    }
    take(parsed, false);
    return out;
  }

  let done = false;
  let failure: unknown = null;
  const parser = createParser({
    onEvent(ev) {
      if (done || failure !== null) return;
      if (ev.data === "[DONE]") {
        done = true;
        return;
      }
      try {
        take(JSON.parse(ev.data) as Chunk, true);
      } catch (err) {
        failure = err instanceof ChatUpstreamError ? err : new ChatUpstreamError(`keypool chat: unreadable stream event (${ev.data.slice(0, 80)})`, null, err);
      }
    },
  });
  try {
    for await (const chunk of body) {
      parser.feed(decoder.write(chunk as Buffer));
      if (failure !== null) break;
    }
    if (!done && failure === null) parser.feed(decoder.end());
  } finally {
    if (!body.readableEnded) body.destroy();
  }
  if (failure !== null) throw failure;
  // Some relays close the stream without [DONE]: what came is the answer, if anything came.
  if (!done && out.text === "" && out.finishReason === null) {
    throw new ChatUpstreamError("keypool chat: the stream ended before any answer", null);
  }
  return out;
}
