import type { IncomingMessage, ServerResponse } from "node:http";
import type { SimContext } from "../context.ts";
import { sessionLatency } from "./latency.ts";
import { resetConnection } from "../delivery.ts";
import { bearer, BodyTooLargeError, readBody } from "../http/respond.ts";
import {
  CHALLENGE,
  INVALID_JWT,
  NOT_FOUND,
  passesChallenge,
  TOKEN_EXPIRED,
  UNAUTHORIZED,
} from "./answers.ts";
import { getConversation, listConversations, postConversation } from "./conversation-routes.ts";
import { sendWeb } from "./send.ts";
import type { WebRequest } from "./web-request.ts";
import { setLogStatus } from "../request-log.ts";

/**
 * `/backend-api/*`: a bearer access token from `/api/auth/session`, checked
 * for the Cloudflare challenge and expiry, then the route.
 */
export async function handleBackend(
  ctx: SimContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams | null,
): Promise<void> {
  const now = Date.now();
  let body: unknown = null;
  if (req.method === "POST") {
    let text: string;
    try {
      text = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLargeError) res.writeHead(413).end();
      return;
    }
    try {
      body = text === "" ? null : JSON.parse(text);
    } catch {
      body = text;
    }
  }
  const token = bearer(req);
  const access = token === undefined ? undefined : ctx.sessions.accessToken(token);
  const session = access?.session;
  const entry = { log: ctx.log, seq: ctx.log.add(session?.id ?? null, "session", req.method!, path, body, now) };
  if (token === undefined) return sendWeb(res, UNAUTHORIZED, entry, undefined);
  if (access === undefined || session === undefined) return sendWeb(res, INVALID_JWT, entry, undefined);
  session.stats.requests += 1;
  if (!passesChallenge(req, session)) return sendWeb(res, CHALLENGE, entry, session);
  if (now >= access.expiresAt) return sendWeb(res, TOKEN_EXPIRED, entry, session);
  const b = session.behaviour;
  if (!(await sessionLatency(ctx, b.ms))) return;
  const w: WebRequest = { ctx, req, res, path, query, body, session, entry };
  if (req.method === "POST" && path === "/backend-api/conversation") {
    if (b.name === "reset" && b.cut.at === "request") {
      resetConnection(res);
      setLogStatus(entry, "reset");
      session.recordStatus("reset");
      return;
    }
    return postConversation(w);
  }
  if (req.method === "GET" && path === "/backend-api/conversations") return listConversations(w);
  if (req.method === "GET" && path.startsWith("/backend-api/conversation/")) return getConversation(w);
  sendWeb(res, NOT_FOUND, entry, session);
}
