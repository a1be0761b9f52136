/**
 * The `web` backend: ChatGPT web sessions as pool credentials (kind "web").
 * The server keeps the conversation; we keep its id and the reply's message
 * id to continue it. A conversation stays on the account that created it;
 * only a new conversation fails over to another account.
 */
import { randomUUID } from "node:crypto";
import { KeypoolError } from "../../../errors/index.ts";
import { NoCredentialError } from "../../../pool/errors.ts";
import { classify, isAmbiguous, type Outcome } from "../../../pool/outcome.ts";
import type { Pool, Lease } from "../../../pool/pool.ts";
import { decideRetry } from "../../../pool/retry-policy.ts";
import type { ChatBackend, TurnRequest, TurnResult } from "../../backend.ts";
import { fixedCost } from "../../context.ts";
import { ChatUpstreamError, ConversationUnavailableError } from "../../errors/index.ts";
import { DEFAULT_WEB_BASE_URL } from "./web-auth.ts";
import { webAccounts, type WebAccounts } from "./web-accounts.ts";
import { exchange, type ExchangeResult } from "./web-exchange.ts";
import { createWebProbe } from "./web-probe.ts";
import type { WebBackendOptions } from "./web-probe-registration.ts";

export { registerWebProbe, type WebBackendOptions } from "./web-probe-registration.ts";

export function createWebBackend(pool: Pool, options: WebBackendOptions = {}): ChatBackend {
  const accounts = webAccounts(pool, { baseURL: options.baseURL ?? DEFAULT_WEB_BASE_URL });
  pool.health?.register("web", createWebProbe(accounts));
  return { name: "web", remoteContext: true, defaultModel: "auto", turn: (req) => webTurn(pool, accounts, req) };
}

/**
 * The system message this turn sends: only before the first question of a new conversation,
 * since the server keeps it in the conversation's context from then on (as relays that map
 * OpenAI messages onto the web backend do). Null when the turn sends none.
 */
function systemToSend(req: TurnRequest): string | null {
  return req.system === null || req.system === "" || req.conversation.remoteId !== null ? null : req.system;
}

const systemEntry = (text: string | null): object[] =>
  text === null ? [] : [{ id: randomUUID(), author: { role: "system" }, content: { content_type: "text", parts: [text] }, metadata: {} }];

function messageBody(req: TurnRequest): Buffer {
  const conv = req.conversation;
  const parent = conv.remoteId === null ? randomUUID() : req.parent?.remoteId;
  if (parent === undefined || parent === null) throw new ConversationUnavailableError(conv.id, "its newest message has no remote id to continue from");
  return Buffer.from(
    JSON.stringify({
      ...req.completionParams,
      action: "next",
      messages: [...systemEntry(systemToSend(req)), { id: req.questionId, author: { role: "user" }, content: { content_type: "text", parts: [req.text] }, metadata: {} }],
      ...(conv.remoteId === null ? {} : { conversation_id: conv.remoteId }),
      parent_message_id: parent,
      model: req.model,
      timezone_offset_min: 0,
    }),
  );
}

const mask = (pool: Pool, id: string): string => pool.get(id)?.key ?? id;

/** A clearer word than the pool's when no web session can take the message. */
function noAccount(pool: Pool, err: unknown, convId: string, sticky: string | null): unknown {
  if (!(err instanceof NoCredentialError)) return err;
  if (sticky !== null) {
    const r = pool.get(sticky);
    const why = r === null ? "was removed" : r.state === "active" || r.state === "cooling" ? err.message.replace(/^keypool: /, "") : `is ${r.state}${r.reason === null ? "" : ` (${r.reason})`}`;
    return new ConversationUnavailableError(convId, `it lives on the web session ${mask(pool, sticky)}, which ${why}; start a new conversation`, 503);
  }
  if (err.code === "KP_POOL_EMPTY") {
    return new KeypoolError(err.code, 'keypool chat: the pool has no web sessions; add one: pool.add({ kind: "web", secret: SESSION_TOKEN, meta: { cfClearance, userAgent } })', { status: err.status, type: err.type, cause: err });
  }
  return new KeypoolError(err.code, `keypool chat: no web session can take the message: ${err.message.replace(/^keypool: /, "")}`, { status: err.status, type: err.type, headers: err.headers, cause: err });
}

async function webTurn(pool: Pool, accounts: WebAccounts, req: TurnRequest): Promise<TurnResult> {
  // The server keeps the context; only what this turn sends must fit (the system message goes with the first).
  const counted = fixedCost(systemToSend(req), req.text, req.maxContextTokens - req.maxResponseTokens, req.counter);
  const conv = req.conversation;
  const sticky = conv.remoteId === null ? null : conv.credentialId;
  if (conv.remoteId !== null && sticky === null) throw new ConversationUnavailableError(conv.id, "it has a remote id but no account");
  if (sticky !== null && pool.record(sticky) === undefined) {
    throw new ConversationUnavailableError(conv.id, `it lives on the web session ${sticky}, which was removed from the pool; start a new conversation`, 410);
  }
  const body = messageBody(req);
  const exclude = new Set<string>();
  const deadline = Date.now() + pool.config.deadlineMs;
  let attempts = 0;
  let faults = 0;
  let last: (ExchangeResult & { ok: false }) | null = null;
  let lastId = "";
  for (;;) {
    let lease: Lease | null;
    try {
      lease = await pool.acquire({ model: req.model, exclude: sticky === null ? exclude : null, signal: req.signal, deadline, kind: "web", ...(sticky === null ? {} : { only: sticky }) });
    } catch (err) {
      if (last !== null) break; // the last failure says more than "nothing left"
      throw noAccount(pool, err, conv.id, sticky);
    }
    if (lease === null) break;
    attempts++;
    const id = lease.record.id;
    let result: ExchangeResult;
    try {
      result = await accounts.queue.run(id, () => exchange(accounts, { credentialId: id, body, signal: req.signal, onDelta: req.onDelta }), req.signal);
    } catch (err) {
      // The caller left: not the account's fault (released as the pooled dispatch does when a caller walks away).
      pool.release(lease, { outcome: classify({ status: 200 }) });
      throw err;
    }
    if (result.ok) {
      pool.release(lease, { outcome: classify({ status: 200 }) });
      const r = result.reply;
      return {
        text: r.text,
        model: r.model ?? req.model,
        credentialId: id,
        usage: null,
        countedPromptTokens: counted,
        costUsd: 0,
        remote: { conversationId: r.conversationId!, questionId: req.questionId, replyId: r.messageId! },
      };
    }
    pool.release(lease, { outcome: result.outcome });
    last = result;
    lastId = id;
    if (sticky !== null) break;
    exclude.add(id);
    if (isAmbiguous(result.outcome.kind)) faults++;
    const d = decideRetry(result.outcome.kind, { attempts, faults, modelMisses: 0, deadline, now: Date.now(), committed: result.started, aborted: req.signal.aborted }, pool.config.retry);
    if (!d.retry) break;
  }
  if (last === null) throw new KeypoolError("KP_NO_USABLE_CREDENTIAL", "keypool chat: no web session could take the message", { status: 503 });
  throw failure(pool, last, lastId, attempts);
}

function failure(pool: Pool, last: { outcome: Outcome; what: string }, id: string, attempts: number): ChatUpstreamError {
  const o = last.outcome;
  const detail = `${o.kind}${o.status === null ? "" : ` ${o.status}`}${o.code === null ? "" : ` ${o.code}`}${o.message === null ? "" : `: ${o.message}`}`;
  const after = o.kind === "invalid" ? " The session is retired with this evidence." : "";
  const tried = attempts > 1 ? ` (${attempts} sessions tried)` : "";
  return new ChatUpstreamError(`keypool chat: the web session ${mask(pool, id)} failed ${last.what}${tried}: ${detail}.${after}`, o);
}
