/** `/admin/events`, `/admin/usage`, `/admin/stats` and the `/admin/live` stream. */
import type { AuditEvent } from "../../pool/types.ts";
import { CREDENTIAL_STATES } from "../../pool/types.ts";
import { ValidationError } from "../../errors/index.ts";
import type { UsageRow } from "../../store/types.ts";
import type { GatewayContext } from "../context.ts";
import { sendJson } from "../http/respond.ts";
import type { GatewayResponse } from "../http/response.ts";
import { queryObject, validate } from "./input.ts";
import { eventsQuery, usageQuery } from "./schemas.ts";
import { version } from "../../version.ts";

export async function listEvents(ctx: GatewayContext, res: GatewayResponse, query: string): Promise<void> {
  const q = validate(eventsQuery, queryObject(query));
  const events = await ctx.pool.events({
    ...(q.credential === undefined ? {} : { credentialId: q.credential }),
    ...(q.kind === undefined ? {} : { kind: q.kind }),
    ...(q.before === undefined ? {} : { before: q.before }),
    limit: q.limit ?? 100,
  });
  sendJson(res, 200, { data: events });
}

function parseTime(field: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw new ValidationError(`${field}: must be an ISO date or ms since epoch, got "${v}"`, field);
  return t;
}

export async function usage(ctx: GatewayContext, res: GatewayResponse, query: string): Promise<void> {
  const q = validate(usageQuery, queryObject(query));
  const from = parseTime("from", q.from);
  const to = parseTime("to", q.to);
  const rows = await ctx.pool.usage({
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(q.credential === undefined ? {} : { credentialId: q.credential }),
    ...(q.token === undefined ? {} : { tokenId: q.token }),
    ...(q.model === undefined ? {} : { model: q.model }),
    groupBy: q.groupBy,
  });
  const total: UsageRow = { requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
  for (const r of rows) {
    total.requests += r.requests;
    total.promptTokens += r.promptTokens;
    total.completionTokens += r.completionTokens;
    total.costUsd += r.costUsd;
  }
  sendJson(res, 200, { groupBy: q.groupBy, from: from ?? null, to: to ?? null, data: rows, total });
}

/** Requests in flight leave out the open `/admin/live` streams and the `asking` request; request rates count `/v1` only. */
export function statsOf(ctx: GatewayContext, asking = 0) {
  const keys: Record<string, number> = {};
  for (const s of CREDENTIAL_STATES) keys[s] = 0;
  for (const e of ctx.pool.index.entries.values()) keys[e.record.state] = (keys[e.record.state] ?? 0) + 1;
  const m = process.memoryUsage();
  const mb = (n: number): number => Math.round((n / 1048576) * 10) / 10;
  return {
    ...ctx.live.snapshot(ctx.metrics.inflight - ctx.liveStreams.size - asking),
    keys,
    backlog: ctx.pool.backlog,
    /** This process's memory (MB). */
    memory: { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), heapTotalMb: mb(m.heapTotal), externalMb: mb(m.external) },
    instance: ctx.pool.config.instance,
    upstream: ctx.pool.config.upstream,
    version,
  };
}

export function stats(ctx: GatewayContext, res: GatewayResponse): void {
  sendJson(res, 200, statsOf(ctx, 1));
}

/** Ends the open `/admin/live` streams (the gateway is shutting down). */
export function endLiveStreams(ctx: GatewayContext): void {
  for (const res of ctx.liveStreams) res.end();
  ctx.liveStreams.clear();
}

/** Server-sent events: `stats` every second, and `event` for each audit event of this instance. */
export function live(ctx: GatewayContext, res: GatewayResponse): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" });
  const send = (): void => void res.write(`event: stats\ndata: ${JSON.stringify(statsOf(ctx))}\n\n`);
  const onEvent = (ev: AuditEvent): void => void res.write(`event: event\ndata: ${JSON.stringify(ev)}\n\n`);
  ctx.liveStreams.add(res);
  send();
  const timer = setInterval(send, 1000);
  ctx.pool.on("event", onEvent);
  return new Promise((resolve) => {
    res.once("close", () => {
      clearInterval(timer);
      ctx.pool.off("event", onEvent);
      ctx.liveStreams.delete(res);
      resolve();
    });
  });
}
