/**
 * Metering of chat turns: into the pool's usage records (so the gateway's
 * usage views include chat traffic, with no client token) and into per
 * client-id counters. Conversation counters are written with the messages.
 */
import type { Pool } from "../pool/pool.ts";
import { costUsd } from "../pool/prices.ts";
import type { TurnResult } from "./backend.ts";
import type { TokenCounter } from "./tokens.ts";
import type { ChatUsage, ClientUsage } from "./types.ts";

/** The backend's usage, or a local count marked estimated. */
export function turnUsage(result: TurnResult, counter: TokenCounter): ChatUsage {
  if (result.usage !== null) return { ...result.usage, estimated: false };
  return { promptTokens: result.countedPromptTokens, completionTokens: counter.text(result.text), estimated: true };
}

const FIELDS = ["messages", "promptTokens", "completionTokens", "estimatedTokens"] as const;
const counterName = (clientId: string, field: (typeof FIELDS)[number]): string => `chat:client:${clientId}:${field}`;

export interface MeterInput {
  replyId: string;
  clientId: string | null;
  model: string;
  credentialId: string | null;
  usage: ChatUsage;
  costUsd: number | null;
  time: number;
}

/** Never fails the turn: the messages are stored already; a store hiccup here costs a count, not a reply. */
export async function meterTurn(pool: Pool, m: MeterInput): Promise<void> {
  const { usage } = m;
  const writes: Promise<unknown>[] = [];
  if (m.credentialId !== null) {
    writes.push(
      pool.recordUsage([
        {
          id: `chat_${m.replyId}`,
          time: m.time,
          credentialId: m.credentialId,
          tokenId: null,
          model: m.model,
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
          costUsd: m.costUsd ?? costUsd(m.model, usage.promptTokens, usage.completionTokens, pool.config.prices),
          estimated: usage.estimated,
        },
      ]),
    );
  }
  if (m.clientId !== null) {
    const c = pool.store.counters;
    writes.push(
      c.incr(counterName(m.clientId, "messages"), 2),
      c.incr(counterName(m.clientId, "promptTokens"), usage.promptTokens),
      c.incr(counterName(m.clientId, "completionTokens"), usage.completionTokens),
    );
    if (usage.estimated) writes.push(c.incr(counterName(m.clientId, "estimatedTokens"), usage.promptTokens + usage.completionTokens));
  }
  await Promise.allSettled(writes);
}

export async function clientUsage(pool: Pool, clientId: string): Promise<ClientUsage> {
  const values = await Promise.all(FIELDS.map((f) => pool.store.counters.incr(counterName(clientId, f), 0)));
  return { messages: values[0]!, promptTokens: values[1]!, completionTokens: values[2]!, estimatedTokens: values[3]! };
}
