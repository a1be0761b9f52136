import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { SimContext } from "./context.ts";
import type { SimControl } from "./control/control.ts";
import { handleControl } from "./control/routes.ts";
import { sendJson, splitUrl } from "./http/respond.ts";
import { invalidUrl, SERVER_ERROR } from "./openai/errors.ts";
import { handleApi } from "./openai/pipeline.ts";
import { matchApiRoute } from "./openai/routes.ts";
import { authSession } from "./web/auth-route.ts";
import { handleBackend } from "./web/backend.ts";

function dispatch(ctx: SimContext, control: SimControl, req: IncomingMessage, res: ServerResponse): void | Promise<void> {
  const { path, query } = splitUrl(req.url ?? "/");
  const method = req.method ?? "GET";
  if (path.startsWith("/v1/") || path.startsWith("/dashboard/")) {
    const route = matchApiRoute(method, path);
    if (route !== undefined) return handleApi(ctx, req, res, route, path, query);
  } else if (path.startsWith("/backend-api/")) {
    return handleBackend(ctx, req, res, path, query);
  } else if (path === "/api/auth/session" && method === "GET") {
    return authSession(ctx, req, res, path);
  } else if (path === "/_sim" || path.startsWith("/_sim/")) {
    return handleControl(control, req, res, path, query);
  }
  const answer = invalidUrl(method, path);
  sendJson(res, answer.status, answer.body);
}

/** The simulator's HTTP server: plain node:http, one dispatch function, no framework. */
export function createSimServer(ctx: SimContext, control: SimControl): Server {
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    const fail = (err: unknown): void => {
      process.emitWarning(`keypool sim: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (!res.headersSent) sendJson(res, 500, SERVER_ERROR.body);
      else res.destroy();
    };
    try {
      dispatch(ctx, control, req, res)?.catch(fail);
    } catch (err) {
      fail(err);
    }
  });
  return server;
}
