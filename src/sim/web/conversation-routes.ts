import { randomUUID } from "node:crypto";
import { replyFor } from "../openai/reply.ts";
import { loadTokenizer, tokenizerNow } from "../openai/tokens.ts";
import { badRequest, CONVERSATION_NOT_FOUND, messageNotFound, ONE_AT_A_TIME } from "./answers.ts";
import { streamWeb, type WebRequest } from "./web-request.ts";
import { Conversation, titleFrom, webMessage } from "./conversation.ts";
import { sendWeb } from "./send.ts";

interface UserMessage {
  readonly id: string;
  readonly role: "system" | "user";
  readonly text: string;
}

function readMessages(value: unknown): UserMessage[] | string {
  if (!Array.isArray(value) || value.length === 0) return "messages: expected a non-empty array";
  const out: UserMessage[] = [];
  for (let i = 0; i < value.length; i++) {
    const m = value[i] as { id?: unknown; author?: { role?: unknown }; content?: { parts?: unknown } } | null;
    const parts = m?.content?.parts;
    if (!Array.isArray(parts) || parts.length === 0 || typeof parts[0] !== "string") {
      return `messages[${i}].content.parts: expected an array of text`;
    }
    out.push({ id: typeof m?.id === "string" ? m.id : randomUUID(), role: m?.author?.role === "system" ? "system" : "user", text: parts.filter((p) => typeof p === "string").join("\n") });
  }
  return out;
}

/** `POST /backend-api/conversation`: continues or starts a conversation and streams the reply. */
export async function postConversation(w: WebRequest): Promise<void> {
  const { session, entry, res } = w;
  const body = w.body as Record<string, unknown> | null;
  if (typeof body !== "object" || body === null) return sendWeb(res, badRequest("Invalid request body"), entry, session);
  if (body.action !== "next") return sendWeb(res, badRequest(`Unsupported action: ${String(body.action)}`), entry, session);
  const messages = readMessages(body.messages);
  if (typeof messages === "string") return sendWeb(res, badRequest(messages), entry, session);
  const parentId = body.parent_message_id;
  if (typeof parentId !== "string" || parentId === "") {
    return sendWeb(res, badRequest("parent_message_id: expected a string"), entry, session);
  }
  const conversationId = body.conversation_id;
  if (conversationId !== undefined && conversationId !== null && typeof conversationId !== "string") {
    return sendWeb(res, badRequest("conversation_id: expected a string"), entry, session);
  }
  if (session.streaming > 0) return sendWeb(res, ONE_AT_A_TIME, entry, session);
  session.streaming += 1;
  try {
    await answer(w, body, messages, parentId, conversationId);
  } finally {
    session.streaming -= 1;
  }
}

async function answer(
  w: WebRequest,
  body: Record<string, unknown>,
  messages: UserMessage[],
  parentId: string,
  conversationId: string | null | undefined,
): Promise<void> {
  const { session, entry, res } = w;

  let conversation: Conversation;
  if (typeof conversationId === "string") {
    const found = session.conversations.get(conversationId);
    if (found === undefined) return sendWeb(res, CONVERSATION_NOT_FOUND, entry, session);
    if (!found.mapping.has(parentId)) return sendWeb(res, messageNotFound(parentId), entry, session);
    conversation = found;
  } else {
    conversation = new Conversation(randomUUID(), parentId, titleFrom((messages.find((m) => m.role === "user") ?? messages[0]!).text));
    session.conversations.set(conversation.id, conversation);
  }

  const model = typeof body.model === "string" ? body.model : "auto";
  let parent = parentId;
  for (const m of messages) {
    conversation.add(parent, webMessage(m.id, m.role, m.text, "finished_successfully", null, { message_type: "next" }));
    parent = m.id;
  }
  const tokenizer = tokenizerNow("o200k_base") ?? (await loadTokenizer("o200k_base"));
  const last = messages[messages.length - 1]!.text;
  const reply = replyFor(last, tokenizer, null);
  const assistantId = randomUUID();
  const metadata = { model_slug: model, parent_id: parent, message_type: "next" };
  const pieces: string[] = [];
  let text = "";
  for (const piece of reply.pieces) {
    text += piece;
    const message = webMessage(assistantId, "assistant", text, "in_progress", null, metadata);
    pieces.push(`data: ${JSON.stringify({ message, conversation_id: conversation.id, error: null })}\n\n`);
  }
  const final = webMessage(assistantId, "assistant", reply.text, "finished_successfully", true, {
    ...metadata,
    finish_details: { type: "stop", stop_tokens: [200002] },
    is_complete: true,
  });
  pieces.push(`data: ${JSON.stringify({ message: final, conversation_id: conversation.id, error: null })}\n\n`, "data: [DONE]\n\n");
  conversation.add(parent, final);
  session.messages += 1;
  let promptTokens = 0;
  for (const m of messages) promptTokens += tokenizer.count(m.text);
  session.stats.prompt_tokens += promptTokens;
  session.stats.completion_tokens += reply.tokens;
  session.stats.total_tokens += promptTokens + reply.tokens;
  await streamWeb(w, pieces);
}

/** `GET /backend-api/conversations?offset&limit`, newest first. */
export function listConversations(w: WebRequest): void {
  const offset = Math.max(0, Number.parseInt(w.query?.get("offset") ?? "0", 10) || 0);
  const limit = Math.min(100, Math.max(1, Number.parseInt(w.query?.get("limit") ?? "28", 10) || 28));
  const all = [...w.session.conversations.values()].sort((a, b) => b.updateTime - a.updateTime);
  const items = all.slice(offset, offset + limit).map((c) => c.summary());
  const body = JSON.stringify({ items, total: all.length, limit, offset, has_missing_conversations: false });
  sendWeb(w.res, { status: 200, body }, w.entry, w.session);
}

/** `GET /backend-api/conversation/{id}`: the tree with `mapping` and `current_node`. */
export function getConversation(w: WebRequest): void {
  const id = decodeURIComponent(w.path.slice("/backend-api/conversation/".length));
  const conversation = w.session.conversations.get(id);
  if (conversation === undefined) return sendWeb(w.res, CONVERSATION_NOT_FOUND, w.entry, w.session);
  sendWeb(w.res, { status: 200, body: JSON.stringify(conversation) }, w.entry, w.session);
}
