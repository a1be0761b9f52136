/**
 * The HTTP server: raw node:http, one dispatch on the path's prefix, limits
 * on slow and oversized requests, and one place where every request is
 * counted and logged.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import { toErrorResponse } from "../errors/index.ts";
import { handleAdmin } from "./admin/router.ts";
import type { GatewayContext } from "./context.ts";
import { RouteNotFoundError } from "./errors.ts";
import { sendError, sendJson } from "./http/respond.ts";
import { GatewayResponse } from "./http/response.ts";
import { handleProxy } from "./proxy/handler.ts";
import { scrubSecrets } from "../util/scrub.ts";

/** A handler mounted under a path prefix (the dashboard mounts itself at `/dashboard`). */
export interface Mount {
  prefix: string;
  handle(ctx: GatewayContext, req: IncomingMessage, res: GatewayResponse, path: string, query: string): Promise<void> | void;
}

export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs?: number;
}

async function health(ctx: GatewayContext, res: GatewayResponse): Promise<void> {
  res.route = "/healthz";
  try {
    await ctx.pool.store.ping();
    sendJson(res, 200, { status: "ok", store: ctx.pool.store.kind, draining: ctx.draining });
  } catch {
    sendJson(res, 503, { status: "unavailable", store: ctx.pool.store.kind, reason: "the store does not answer" });
  }
}

async function metrics(ctx: GatewayContext, res: GatewayResponse): Promise<void> {
  res.route = "/metrics";
  const text = await ctx.metrics.text();
  res.writeHead(200, { "content-type": ctx.metrics.contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function route(ctx: GatewayContext, mounts: readonly Mount[], req: IncomingMessage, res: GatewayResponse, path: string, query: string): Promise<void> | void {
  if (path.startsWith("/v1/")) return handleProxy(ctx, req, res, path, query);
  if (path.startsWith("/admin/")) return handleAdmin(ctx, req, res, path, query);
  const method = req.method ?? "GET";
  if (path === "/healthz" && (method === "GET" || method === "HEAD")) return health(ctx, res);
  if (path === "/metrics" && method === "GET") return metrics(ctx, res);
  for (const m of mounts) if (path === m.prefix || path.startsWith(`${m.prefix}/`)) return m.handle(ctx, req, res, path, query);
  throw new RouteNotFoundError(method, path);
}

async function serve(ctx: GatewayContext, mounts: readonly Mount[], req: IncomingMessage, res: GatewayResponse): Promise<void> {
  res.startedAt = performance.now();
  ctx.busyPoll.touch();
  ctx.metrics.inflight++;
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? "" : url.slice(q);
  try {
    if (ctx.draining) res.setHeader("connection", "close");
    await route(ctx, mounts, req, res, path, query);
  } catch (err) {
    if (!res.destroyed) sendError(res, err);
    else if (!res.writableEnded) res.statusCode = 499;
    if (toErrorResponse(err).status >= 500) ctx.log.warn({ err, route: res.route }, "request failed");
  } finally {
    account(ctx, req, res);
  }
}

function account(ctx: GatewayContext, req: IncomingMessage, res: GatewayResponse): void {
  // The client left before the answer was complete: 499, as nginx logs it.
  const status = res.writableEnded ? res.statusCode : 499;
  ctx.metrics.inflight--;
  ctx.metrics.request(res.route, status, res.credentialState);
  // The live view is the API's traffic: the dashboard's own reads, health checks and scrapes would drown it.
  if (res.route.startsWith("/v1")) ctx.live.record(status);
  if (ctx.requestLog.isLevelEnabled("info")) {
    ctx.requestLog.info(
      {
        method: req.method,
        route: res.route,
        // Admin paths name ids, which may be keys given whole (`/admin/keys/sk-...`): masked.
        ...(res.route === "/admin" ? { path: scrubSecrets((req.url ?? "").split("?")[0]!) } : {}),
        status,
        ms: Math.round((performance.now() - res.startedAt) * 100) / 100,
        credential: res.credentialId,
        attempts: res.attempts,
        tokenId: res.tokenId,
      },
      "request",
    );
  }
  ctx.busyPoll.touch();
  if (ctx.metrics.inflight === 0) ctx.onIdle?.();
}

/** A short OpenAI-shaped answer for requests node:http rejects before a handler runs. */
function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const [status, text] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "request headers too large"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "request not received in time"]
        : [400, "malformed HTTP request"];
  const body = JSON.stringify({ error: { message: text, type: "invalid_request_error", param: null, code: `KP_HTTP_${status}` } });
  socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export function createGatewayServer(ctx: GatewayContext, limits: ServerLimits, mounts: readonly Mount[] = []): Server<typeof IncomingMessage, typeof GatewayResponse> {
  const server = createServer<typeof IncomingMessage, typeof GatewayResponse>(
    {
      ServerResponse: GatewayResponse,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs ?? 65_000,
      maxHeaderSize: 32 * 1024,
      // How often the header and request timeouts are checked (node's default is 30 s).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    (req, res) => void serve(ctx, mounts, req, res),
  );
  server.on("clientError", onClientError);
  return server;
}
