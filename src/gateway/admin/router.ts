/**
 * The admin API under `/admin/`, behind `Authorization: Bearer
 * $KEYPOOL_ADMIN_TOKEN` (compared in constant time). Without an admin token
 * configured it refuses everything, saying how to set one.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { GatewayContext } from "../context.ts";
import { AuthError, ForbiddenError, MethodNotAllowedError, RouteNotFoundError } from "../errors.ts";
import type { GatewayResponse } from "../http/response.ts";
import { addKeys, getKey, listKeys, patchKey, probeAll, probeKey, removeKey, switchKey } from "./keys.ts";
import { listEvents, live, stats, usage } from "./reads.ts";
import { createToken, listTokens, revokeToken } from "./tokens.ts";

type Handler = (ctx: GatewayContext, req: IncomingMessage, res: GatewayResponse, params: string[], query: string) => Promise<void> | void;

interface Route {
  /** Segments after `/admin/`; `:` matches one segment, handed to the handler in order. */
  pattern: string[];
  methods: Record<string, Handler>;
}

const route = (path: string, methods: Record<string, Handler>): Route => ({ pattern: path.split("/"), methods });

const ROUTES: Route[] = [
  route("keys", { GET: (c, _q, r, _p, query) => listKeys(c, r, query), POST: (c, q, r) => addKeys(c, q, r) }),
  route("keys/probe", { POST: (c, q, r) => probeAll(c, q, r) }),
  route("keys/:", { GET: (c, _q, r, [id]) => getKey(c, r, id!), PATCH: (c, q, r, [id]) => patchKey(c, q, r, id!), DELETE: (c, _q, r, [id]) => removeKey(c, r, id!) }),
  route("keys/:/enable", { POST: (c, q, r, [id]) => switchKey(c, q, r, id!, "enable") }),
  route("keys/:/disable", { POST: (c, q, r, [id]) => switchKey(c, q, r, id!, "disable") }),
  route("keys/:/probe", { POST: (c, _q, r, [id]) => probeKey(c, r, id!) }),
  route("tokens", { GET: (c, _q, r) => listTokens(c, r), POST: (c, q, r) => createToken(c, q, r) }),
  route("tokens/:", { DELETE: (c, _q, r, [id]) => revokeToken(c, r, id!) }),
  route("events", { GET: (c, _q, r, _p, query) => listEvents(c, r, query) }),
  route("usage", { GET: (c, _q, r, _p, query) => usage(c, r, query) }),
  route("stats", { GET: (c, _q, r) => stats(c, r) }),
  route("live", { GET: (c, _q, r) => live(c, r) }),
];

function match(segments: string[]): { route: Route; params: string[] } | null {
  for (const r of ROUTES) {
    if (r.pattern.length !== segments.length) continue;
    const params: string[] = [];
    let ok = true;
    for (let i = 0; i < segments.length; i++) {
      const want = r.pattern[i]!;
      if (want === ":") params.push(decodeURIComponent(segments[i]!));
      else if (want !== segments[i]) {
        ok = false;
        break;
      }
    }
    // A literal route (`keys/probe`) wins over a parameter one (`keys/:`): literals come first.
    if (ok) return { route: r, params };
  }
  return null;
}

/** Throws unless the request carries the admin token. */
export function checkAdmin(ctx: GatewayContext, authorization: string | undefined): void {
  if (ctx.adminToken === null) {
    throw new ForbiddenError("KP_ADMIN_DISABLED", "the admin API is off: set an admin token (KEYPOOL_ADMIN_TOKEN, --admin-token, or adminToken in the config file; 16 characters at least) and restart the gateway");
  }
  const m = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (m === null) throw new AuthError("KP_ADMIN_TOKEN_MISSING", "missing admin token: send Authorization: Bearer $KEYPOOL_ADMIN_TOKEN");
  const given = createHash("sha256").update(m[1]!).digest();
  if (!timingSafeEqual(given, ctx.adminToken)) {
    if (m[1]!.startsWith("kp-")) throw new ForbiddenError("KP_ADMIN_TOKEN_INVALID", "a client token cannot use the admin API: send the admin token");
    throw new AuthError("KP_ADMIN_TOKEN_INVALID", "invalid admin token");
  }
}

export async function handleAdmin(ctx: GatewayContext, req: IncomingMessage, res: GatewayResponse, path: string, query: string): Promise<void> {
  res.route = "/admin";
  checkAdmin(ctx, req.headers.authorization);
  const method = req.method ?? "GET";
  let segments: string[];
  try {
    segments = path.slice("/admin/".length).replace(/\/+$/, "").split("/");
    const found = match(segments);
    if (found === null) throw new RouteNotFoundError(method, path);
    const handler = found.route.methods[method];
    if (handler === undefined) throw new MethodNotAllowedError(method, path, Object.keys(found.route.methods));
    await handler(ctx, req, res, found.params, query);
  } catch (err) {
    if (err instanceof URIError) throw new RouteNotFoundError(method, path);
    throw err;
  }
}
