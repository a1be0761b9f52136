/**
 * `/v1/*`: authenticate, read and check the body, let the pool dispatch it
 * (credential chosen per attempt, failover inside), then pass the answer
 * through as it arrives, with backpressure, metering its usage before the
 * answer ends.
 */
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import { dispatch, type Dispatched, type PooledRequest } from "../../transport/dispatch.ts";
import { modelOf } from "../../transport/pooled-fetch.ts";
import type { GatewayContext } from "../context.ts";
import { readBody } from "../http/body.ts";
import { sendJson } from "../http/respond.ts";
import type { GatewayResponse } from "../http/response.ts";
import type { Caller } from "../auth/client-auth.ts";
import { prepareJson, requestJson, type Prepared } from "./prepare.ts";
import { AnswerKeeper } from "./answer-keeper.ts";
import { answerTextOf, estimateUsage } from "./estimate.ts";
import { ROUTE_LABEL, routeOf, type ProxyRoute } from "./routes.ts";
import type { TokenUsage } from "../../transport/usage.ts";
import { UsageStripper } from "./usage-stripper.ts";
import { scrubSecrets } from "../../util/scrub.ts";
import { answerHeaders, forwardHeaders, isJson, isSse } from "./answer-headers.ts";
import { collect, CutAnswerError, relay, type Collected } from "./answer-body.ts";

export async function handleProxy(ctx: GatewayContext, req: IncomingMessage, res: GatewayResponse, path: string, query: string): Promise<void> {
  const method = req.method ?? "GET";
  const info = routeOf(method, path);
  res.route = ROUTE_LABEL[info.route];
  const caller = await ctx.auth.authenticate(req.headers.authorization);
  if (caller !== null) res.tokenId = caller.token!.id;

  if (info.route === "models") {
    ctx.auth.admit(caller, null);
    sendJson(res, 200, await ctx.models.list(caller, ctx.auth));
    return;
  }

  const body = method === "GET" || method === "HEAD" ? null : await readBody(req, ctx.maxBodyBytes);
  let p: Prepared;
  if (info.json && body !== null) p = prepareJson(info, body);
  else {
    const model = path.startsWith("/v1/models/") ? safeDecode(path.slice(11)) : modelOf(body);
    p = { body: body === null || body.length === 0 ? null : body, model, stream: false, stripUsage: false, original: null };
  }
  ctx.auth.admit(caller, p.model);

  const request: PooledRequest = {
    method,
    path: query === "" ? path.slice(3) : path.slice(3) + query,
    headers: forwardHeaders(req.rawHeaders),
    body: p.body,
    model: p.model,
    signal: res.clientSignal(),
  };
  const deadlineAt = Date.now() + ctx.pool.config.deadlineMs;
  let cut: CutAnswerError | null = null;
  for (;;) {
    const d = await dispatchFor(ctx, res, request, cut);
    // (`whole` first: a success that came whole makes no stream unless its body is asked for.)
    if (d.whole === null && Buffer.isBuffer(d.body)) {
      // An error answer from the upstream, after failover did what it could: passed back as it came,
      // except for anything key-like in it (a relay may echo the key it was sent).
      const text = d.body.toString("utf8");
      const clean = scrubSecrets(text);
      res.writeHead(d.status, answerHeaders(d.headers, clean !== text));
      res.end(clean === text ? d.body : clean);
      return;
    }
    try {
      await (d.whole === null ? stream(ctx, res, d, d.body as Readable, caller, p, info.route) : sendWhole(ctx, res, d, d.whole, caller, p, info.route));
      return;
    } catch (err) {
      // A JSON answer the upstream cut short, none of it sent yet: another key answers instead (once, within the deadline).
      if (!(err instanceof CutAnswerError) || res.headersSent || res.destroyed || cut !== null || Date.now() >= deadlineAt) throw err;
      cut = err;
      request.exclude = [d.lease!.record.id];
      request.deadlineMs = deadlineAt - Date.now();
    }
  }
}

/** One dispatch through the pool, recorded on the response; a retry after `cut` that finds no key rethrows the cut. */
async function dispatchFor(ctx: GatewayContext, res: GatewayResponse, request: PooledRequest, cut: CutAnswerError | null): Promise<Dispatched> {
  const t0 = performance.now();
  let d: Dispatched;
  try {
    d = await dispatch(ctx.pool, ctx.dispatchers, request, ctx.hooks);
  } catch (err) {
    // The client hears about the cut answer, not about a retry no key could take.
    throw cut ?? err;
  }
  ctx.metrics.upstreamLatency(res.route, (performance.now() - t0) / 1000);
  res.attempts += d.attempts;
  if (d.lease !== null) {
    res.credentialId = d.lease.record.id;
    if (res.attempts > 1) ctx.metrics.failover();
  }
  return d;
}

/**
 * Bodies up to this size (a known length, or JSON of unknown length) are sent in one write, after
 * metering; larger ones and streams are piped.
 */
const BUFFER_LIMIT = 1024 * 1024;

async function stream(ctx: GatewayContext, res: GatewayResponse, d: Dispatched, upstream: Readable, caller: Caller, p: Prepared, route: ProxyRoute): Promise<void> {
  const sse = isSse(d.headers);
  const length = Number(d.headers["content-length"] ?? Number.NaN);
  let head: Buffer[] = [];
  if (!sse && (length <= BUFFER_LIMIT || (Number.isNaN(length) && isJson(d.headers)))) {
    // A JSON answer is of no use to its client before its last byte: collected, metered, then sent
    // in one write (headers and body together), never a write per chunk plus one for the end. One
    // cut short becomes a clear 502, not a truncated 200.
    let got: Collected | null = null;
    try {
      got = await collect(upstream, length, BUFFER_LIMIT);
    } finally {
      if (got === null || got.body !== null) await meter(ctx, res, d, caller, p, { route, sse: false, keeper: null, body: got?.body ?? null });
    }
    if (got.body !== null) {
      sendWithLength(res, d, got.body);
      return;
    }
    head = got.head; // larger than the limit, of unknown length: piped from here
  }
  const stripper = p.stripUsage && sse ? new UsageStripper() : null;
  const keeper = keeperFor(p, route, sse);
  res.writeHead(d.status, answerHeaders(d.headers, stripper !== null));
  for (const chunk of head) {
    keeper?.push(chunk);
    res.write(chunk);
  }
  try {
    // Under load, an answer that came whole waits for its metering and leaves in one write; alone, its
    // bytes leave at once (the client reads them while the usage is stored).
    await relay(upstream, res, stripper, keeper, ctx.metrics.inflight > 1);
  } finally {
    await meter(ctx, res, d, caller, p, { route, sse, keeper, body: null });
  }
  // The stripper's held-back tail (`data: [DONE]`) goes with the end: one write, after the usage is stored.
  res.end(joined(stripper?.end() ?? []));
}

/** A body in hand: one write, headers and body together, with its length. */
function sendWithLength(res: GatewayResponse, d: Dispatched, body: Buffer): void {
  const headers = answerHeaders(d.headers, true);
  headers.push("content-length", String(body.length));
  res.writeHead(d.status, headers);
  res.end(body);
}

/** Kept for an estimate in case the answer carries no usage (dropped at its end either way). */
function keeperFor(p: Prepared, route: ProxyRoute, sse: boolean): AnswerKeeper | null {
  return p.original !== null && ESTIMATED.has(route) ? new AnswerKeeper(route, sse) : null;
}

/** Parts as one buffer for a single write (undefined when there are none). */
function joined(parts: Buffer[]): Buffer | undefined {
  return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/**
 * An answer whose body came whole with its head: metered, then sent in one write, as `stream`
 * would send it, without a stream. A JSON answer leaves with a content-length. An event stream is
 * stripped of the usage event the client didn't ask for; it is all here, so it waits the
 * metering's few microseconds and leaves with its end: sending its events first and the end after
 * cost a write and a wake-up of the client more, and was no faster even alone in flight (README,
 * Benchmarks).
 */
async function sendWhole(ctx: GatewayContext, res: GatewayResponse, d: Dispatched, body: Buffer, caller: Caller, p: Prepared, route: ProxyRoute): Promise<void> {
  const sse = isSse(d.headers);
  const keeper = sse ? keeperFor(p, route, true) : null;
  keeper?.push(body);
  await meter(ctx, res, d, caller, p, { route, sse, keeper, body: sse ? null : body });
  if (!sse) {
    sendWithLength(res, d, body);
    return;
  }
  const stripper = p.stripUsage ? new UsageStripper() : null;
  res.writeHead(d.status, answerHeaders(d.headers, stripper !== null));
  res.end(stripper === null ? body : joined([...stripper.push(body), ...stripper.end()]));
}

/** Routes whose answers can be counted locally when they carry no usage. */
const ESTIMATED = new Set<ProxyRoute>(["chat", "completions", "responses", "embeddings"]);

interface Answer {
  route: ProxyRoute;
  sse: boolean;
  /** What a piped answer said, as kept. */
  keeper: AnswerKeeper | null;
  /** A collected answer (null when it was cut short). */
  body: Buffer | null;
}

/**
 * Stores the answer's usage (charged to the caller's token) before the answer ends. An answer
 * without usage is counted locally, marked estimated, rather than going free.
 */
async function meter(ctx: GatewayContext, res: GatewayResponse, d: Dispatched, caller: Caller, p: Prepared, a: Answer): Promise<void> {
  let usage: TokenUsage | null = await d.usage;
  const lease = d.lease!;
  res.credentialState = ctx.pool.index.entries.get(lease.record.id)?.record.state ?? "removed";
  let estimated = false;
  const text = usage === null && p.original !== null && d.status < 300 && ESTIMATED.has(a.route) ? (a.body === null ? (a.keeper?.text() ?? null) : answerTextOf(a.route, a.body, false)) : null;
  if (text !== null) {
    try {
      usage = await estimateUsage(a.route, p.model ?? "unknown", requestJson(p), text, a.keeper?.share() ?? 1);
      estimated = true;
      // The lease went back without usage: the key's budget and TPM learn it now.
      if (p.model !== null) ctx.pool.charge(lease.record.id, p.model, usage);
    } catch (err) {
      ctx.log.warn({ err, route: a.route }, "usage not estimated");
    }
  }
  if (usage !== null) await ctx.meter.record(lease.record.id, caller, p.model, usage.promptTokens, usage.completionTokens, estimated);
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}
