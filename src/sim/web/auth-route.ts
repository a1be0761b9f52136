import type { IncomingMessage, ServerResponse } from "node:http";
import type { SimContext } from "../context.ts";
import { sessionLatency } from "./latency.ts";
import { getCookie } from "../http/respond.ts";
import { CHALLENGE, passesChallenge } from "./answers.ts";
import { sendWeb } from "./send.ts";

export const SESSION_COOKIE = "__Secure-next-auth.session-token";
const SESSION_DAYS = 30;

/**
 * `GET /api/auth/session`: the session cookie buys an access token. A
 * rotating session sends a new cookie each time; an unknown one gets `{}`,
 * as next-auth answers a visitor who is not signed in.
 */
export async function authSession(ctx: SimContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const now = Date.now();
  const cookie = getCookie(req.headers.cookie, SESSION_COOKIE);
  const session = cookie === undefined ? undefined : ctx.sessions.byToken(cookie);
  const entry = { log: ctx.log, seq: ctx.log.add(session?.id ?? null, "session", "GET", path, null, now) };
  if (session === undefined) return sendWeb(res, { status: 200, body: "{}" }, entry, undefined);
  session.stats.requests += 1;
  if (!passesChallenge(req, session)) return sendWeb(res, CHALLENGE, entry, session);
  const b = session.behaviour;
  if (!(await sessionLatency(ctx, b.ms))) return;
  if (b.name === "expired") return sendWeb(res, { status: 200, body: '{"error":"RefreshAccessTokenError"}' }, entry, session);
  const expires = new Date(now + SESSION_DAYS * 86_400_000);
  const extra: string[] = [];
  if (b.name === "rotate") {
    const token = ctx.sessions.rotate(session);
    extra.push(
      "set-cookie",
      `${SESSION_COOKIE}=${token}; Path=/; Expires=${expires.toUTCString()}; HttpOnly; Secure; SameSite=Lax`,
    );
  }
  const access = ctx.sessions.issueAccessToken(session, now);
  const body = JSON.stringify({
    user: {
      id: session.user.id,
      name: session.user.name,
      email: session.user.email,
      image: null,
      picture: null,
      idp: "auth0",
      iat: Math.floor(now / 1000),
      mfa: false,
      groups: [],
      intercom_hash: session.user.id.slice(5),
    },
    expires: expires.toISOString(),
    accessToken: access.token,
    authProvider: "auth0",
  });
  sendWeb(res, { status: 200, body }, entry, session, extra);
}
