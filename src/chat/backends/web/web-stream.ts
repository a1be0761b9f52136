/**
 * Reads the web backend's reply: `text/event-stream` events whose
 * `message.content.parts` hold the whole text so far. Each event's new text
 * becomes a delta; `[DONE]` ends the reply, and so does the stream closing
 * after some text came (the backend sometimes omits `[DONE]`).
 */
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createParser } from "eventsource-parser";

export interface WebReply {
  text: string;
  /** The reply's message id: the parent of the next message. */
  messageId: string | null;
  conversationId: string | null;
  model: string | null;
  /** True when `[DONE]` came (false: the stream closed after text). */
  sawDone: boolean;
}

interface WebEvent {
  message?: {
    id?: unknown;
    author?: { role?: unknown };
    content?: { parts?: unknown };
    metadata?: { model_slug?: unknown };
  } | null;
  conversation_id?: unknown;
  error?: unknown;
}

export class WebStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebStreamError";
  }
}

/** The text of `parts` (strings only; other parts are attachments). */
function partsText(parts: unknown): string | null {
  if (!Array.isArray(parts)) return null;
  return parts.filter((p): p is string => typeof p === "string").join("");
}

/** Applies one event; returns the delta (empty when nothing new, or when the text was rewritten). */
export function applyWebEvent(reply: WebReply, ev: WebEvent): string {
  if (typeof ev.error === "string" && ev.error !== "") throw new WebStreamError(`the web backend reported an error mid-stream: ${ev.error.slice(0, 200)}`);
  if (typeof ev.conversation_id === "string") reply.conversationId = ev.conversation_id;
  const m = ev.message;
  if (m == null || m.author?.role !== "assistant") return "";
  const text = partsText(m.content?.parts);
  if (typeof m.id === "string") reply.messageId = m.id;
  if (typeof m.metadata?.model_slug === "string") reply.model = m.metadata.model_slug;
  if (text === null) return "";
  const before = reply.text;
  reply.text = text;
  return text.startsWith(before) ? text.slice(before.length) : "";
}

export async function readWebReply(body: Readable, onDelta: (delta: string) => void): Promise<WebReply> {
  const reply: WebReply = { text: "", messageId: null, conversationId: null, model: null, sawDone: false };
  let failure: unknown = null;
  const parser = createParser({
    onEvent(ev) {
      if (reply.sawDone || failure !== null) return;
      if (ev.data === "[DONE]") {
        reply.sawDone = true;
        return;
      }
      let parsed: WebEvent;
      try {
        parsed = JSON.parse(ev.data) as WebEvent;
      } catch {
        return; // not JSON (a keep-alive, a notice): skipped
      }
      try {
        const delta = applyWebEvent(reply, parsed);
        if (delta !== "") onDelta(delta);
      } catch (err) {
        failure = err;
      }
    },
  });
  const decoder = new StringDecoder("utf8");
  try {
    for await (const chunk of body) {
      parser.feed(decoder.write(chunk as Buffer));
      if (failure !== null) break;
    }
    parser.feed(decoder.end());
  } finally {
    if (!body.readableEnded) body.destroy();
  }
  if (failure !== null) throw failure;
  if (!reply.sawDone && reply.text === "") throw new WebStreamError("the web backend closed the stream before any reply");
  if (reply.messageId === null || reply.conversationId === null) throw new WebStreamError("the web backend's reply has no message or conversation id");
  return reply;
}
