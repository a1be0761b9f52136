/**
 * The `api` backend: chat completions through the pool's failover loop, so
 * key selection, states and retries apply. The context is built here from
 * the stored chain and sent whole on every turn; the reply is streamed.
 */
import { ConfigError } from "../../../errors/index.ts";
import type { Pool } from "../../../pool/pool.ts";
import { dispatch } from "../../../transport/dispatch.ts";
import { headerGetter, parseMaybeJson } from "../../../transport/send.ts";
import type { ChatBackend, TurnRequest, TurnResult } from "../../backend.ts";
import { buildContext } from "../../context.ts";
import { ChatUpstreamError } from "../../errors/index.ts";
import { readCompletion } from "./completion-stream.ts";

const JSON_HEADERS: [string, string][] = [
  ["content-type", "application/json"],
  ["accept", "text/event-stream, application/json"],
];

/** The request body: the caller's completion params win, except the ones the client owns. */
export function completionBody(req: TurnRequest, messages: unknown): Record<string, unknown> {
  const params = { ...req.completionParams };
  const body: Record<string, unknown> = { ...params, model: req.model, messages, stream: true, stream_options: { include_usage: true } };
  if (params.max_tokens === undefined && params.max_completion_tokens === undefined) body.max_completion_tokens = req.maxResponseTokens;
  return body;
}

export function createApiBackend(pool: Pool): ChatBackend {
  return {
    name: "api",
    remoteContext: false,
    async turn(req: TurnRequest): Promise<TurnResult> {
      const dispatchers = pool.dispatchers;
      if (dispatchers === null) throw new ConfigError("pool", "the api chat backend needs a pool made by createPool() (it has no transport)");
      const ctx = await buildContext({
        repo: req.conversations,
        parentId: req.parent?.id ?? null,
        system: req.system,
        question: req.text,
        budget: req.maxContextTokens - req.maxResponseTokens,
        counter: req.counter,
      });
      const d = await dispatch(pool, dispatchers, {
        method: "POST",
        path: "/chat/completions",
        headers: JSON_HEADERS,
        body: Buffer.from(JSON.stringify(completionBody(req, ctx.messages))),
        model: req.model,
        signal: req.signal,
      });
      if (Buffer.isBuffer(d.body) || d.status < 200 || d.status >= 300) {
        const detail = Buffer.isBuffer(d.body) ? parseMaybeJson(d.body) : null;
        const o = d.outcome;
        const what = o.message ?? (typeof detail === "string" ? detail.slice(0, 200) : `status ${d.status}`);
        throw new ChatUpstreamError(`keypool chat: the upstream answered ${d.status} (${o.kind}${o.code === null ? "" : `, ${o.code}`}): ${what}`, o);
      }
      const credentialId = d.lease?.record.id ?? null;
      const contentType = String(headerGetter(d.headers)("content-type") ?? "");
      let read;
      try {
        read = await readCompletion(d.body, contentType, req.onDelta);
      } catch (err) {
        if (req.signal.aborted || err instanceof ChatUpstreamError) throw err;
        throw new ChatUpstreamError(`keypool chat: the reply was cut short (${(err as Error).message})`, null, err);
      }
      return {
        text: read.text,
        model: read.model ?? req.model,
        credentialId,
        usage: read.usage,
        countedPromptTokens: ctx.promptTokens,
        costUsd: null,
      };
    },
  };
}
