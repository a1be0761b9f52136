/**
 * The context of a turn: the system message, the newest stored turns that
 * fit, and the new message. The budget is `maxContextTokens -
 * maxResponseTokens`; the system message and the new message always stay, the
 * oldest turns go first. History is read from the store page by page, newest
 * first, and reading stops at the first message that doesn't fit.
 */
import type { ChatMessage, ConversationRepo } from "../store/types.ts";
import { ContextTooLongError } from "./errors/index.ts";
import { REPLY_PRIMING, type TokenCounter } from "./tokens.ts";

export interface ContextMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface BuiltContext {
  /** What the backend sends: system, kept history (oldest first), the new message. */
  messages: ContextMessage[];
  /** Prompt tokens as counted here. */
  promptTokens: number;
  /** Stored messages kept. */
  kept: number;
  /** True when older messages were left out to fit the budget. */
  truncated: boolean;
}

/** Tokens the system message, the new message and the reply priming need; throws when they alone exceed the budget. */
export function fixedCost(system: string | null, question: string, budget: number, counter: TokenCounter): number {
  const tokens = REPLY_PRIMING + (system === null ? 0 : counter.message("system", system)) + counter.message("user", question);
  if (tokens > budget) throw new ContextTooLongError(tokens, budget);
  return tokens;
}

/**
 * Keeps the newest messages (given newest first) while they fit in `room`
 * tokens; stops at the first that doesn't, so the kept history has no holes.
 */
export function takeNewest(newestFirst: readonly ChatMessage[], room: number, counter: TokenCounter): { taken: ChatMessage[]; used: number; full: boolean } {
  const taken: ChatMessage[] = [];
  let used = 0;
  for (const m of newestFirst) {
    if (m.role === "system") continue;
    const cost = counter.message(m.role, m.text);
    if (used + cost > room) return { taken, used, full: true };
    used += cost;
    taken.push(m);
  }
  return { taken, used, full: false };
}

export interface BuildInput {
  repo: ConversationRepo;
  /** The parent of the new message (null for a new conversation). */
  parentId: string | null;
  system: string | null;
  question: string;
  budget: number;
  counter: TokenCounter;
  pageSize?: number;
}

export async function buildContext(input: BuildInput): Promise<BuiltContext> {
  const { repo, system, question, budget, counter } = input;
  const fixed = fixedCost(system, question, budget, counter);
  const pageSize = input.pageSize ?? 64;
  const kept: ChatMessage[] = []; // newest first
  let room = budget - fixed;
  let used = 0;
  let truncated = false;
  let head = input.parentId;
  while (head !== null && room > 0) {
    const page = await repo.chain(head, pageSize);
    if (page.length === 0) break;
    const { taken, used: pageUsed, full } = takeNewest(page.toReversed(), room, counter);
    kept.push(...taken);
    used += pageUsed;
    room -= pageUsed;
    if (full) {
      truncated = true;
      break;
    }
    head = page.length < pageSize ? null : page[0]!.parentMessageId;
  }
  if (head !== null && room <= 0 && !truncated) truncated = true;
  const messages: ContextMessage[] = [];
  if (system !== null) messages.push({ role: "system", content: system });
  for (let i = kept.length - 1; i >= 0; i--) {
    const m = kept[i]!;
    messages.push({ role: m.role, content: m.text });
  }
  messages.push({ role: "user", content: question });
  return { messages, promptTokens: fixed + used, kept: kept.length, truncated };
}
