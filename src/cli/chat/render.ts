/** What the chat CLI prints: history, conversation lists, help. Pure. */
import type { ChatMessage, Conversation } from "../../chat/index.ts";

export const COMMANDS_HELP = `Commands:
  /new             start a new conversation (the current one is kept)
  /history         show the current conversation
  /conversations   list your conversations (* marks the current one)
  /switch ID       continue another of your conversations (a unique prefix of its id will do)
  /help            this list
  /quit            leave (also /exit, Ctrl+D; Ctrl+C stops a reply being written)`;

const when = (t: number): string => new Date(t).toISOString().slice(0, 16).replace("T", " ");

export function describeConversation(c: Conversation): string {
  const n = c.messageCount === 1 ? "1 message" : `${c.messageCount} messages`;
  return `${c.id} (${n}${c.title === null ? "" : `: ${c.title}`})`;
}

export function formatHistory(messages: readonly ChatMessage[]): string {
  if (messages.length === 0) return "(no messages yet)";
  return messages.map((m) => `${m.role === "user" ? "you" : m.role}> ${m.text}`).join("\n\n");
}

export function formatConversations(list: readonly Conversation[], currentId: string | null): string {
  if (list.length === 0) return "(no conversations yet)";
  return list
    .map((c) => `${c.id === currentId ? "*" : " "} ${c.id}  ${when(c.updatedAt)}  ${String(c.messageCount).padStart(4)} msgs  ${c.title ?? "(empty)"}`)
    .join("\n");
}

/** The conversation an id or unique id prefix names among `list`; a string says why none. */
export function findConversation(list: readonly Conversation[], id: string): Conversation | string {
  const exact = list.find((c) => c.id === id);
  if (exact !== undefined) return exact;
  const matches = list.filter((c) => c.id.startsWith(id));
  if (matches.length === 1) return matches[0]!;
  return matches.length === 0 ? `no conversation of yours is called ${id} (/conversations lists them)` : `${id} names ${matches.length} conversations; give more of the id`;
}
