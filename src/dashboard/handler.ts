/**
 * Serves the dashboard at `/dashboard/`: static files from memory, with
 * their content type, an ETag (revalidated on every load: no stale script
 * after an upgrade), and a strict Content-Security-Policy. The page itself
 * needs no token; everything it shows comes from the admin API.
 */
import type { IncomingMessage } from "node:http";
import type { GatewayContext } from "../gateway/context.ts";
import { MethodNotAllowedError, RouteNotFoundError } from "../gateway/errors.ts";
import type { GatewayResponse } from "../gateway/http/response.ts";
import type { Mount } from "../gateway/server.ts";
import { loadAssets, PUBLIC_DIR, type Asset } from "./assets.ts";

export const PREFIX = "/dashboard";

/** Scripts and styles from this origin only, no inline code, no eval, and no HTML from strings (Trusted Types). */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

export interface DashboardOptions {
  /** Where the files are (default: `public/` next to this module). */
  dir?: string;
  /** The path it is mounted at (default `/dashboard`). */
  prefix?: string;
}

function send(req: IncomingMessage, res: GatewayResponse, asset: Asset): void {
  const headers: Record<string, string | number> = { ...SECURITY_HEADERS, "cache-control": "no-cache", etag: asset.etag };
  if (req.headers["if-none-match"]?.split(/\s*,\s*/).includes(asset.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, "content-type": asset.type, "content-length": asset.body.length });
  res.end(req.method === "HEAD" ? undefined : asset.body);
}

/** The mount the gateway's router hands `/dashboard` and `/dashboard/*` to (metrics label: the prefix). */
export function dashboardMount(options: DashboardOptions = {}): Mount {
  const prefix = options.prefix ?? PREFIX;
  const leaf = prefix.slice(prefix.lastIndexOf("/") + 1);
  let assets: Promise<Map<string, Asset>> | null = null;
  return {
    prefix,
    async handle(_ctx: GatewayContext, req: IncomingMessage, res: GatewayResponse, path: string, query: string): Promise<void> {
      res.route = prefix;
      const method = req.method ?? "GET";
      if (method !== "GET" && method !== "HEAD") throw new MethodNotAllowedError(method, path, ["GET", "HEAD"]);
      // `/dashboard` → `/dashboard/`, relative so it also works behind a proxy that adds a prefix.
      if (path === prefix) {
        res.writeHead(308, { ...SECURITY_HEADERS, location: `${leaf}/${query}`, "content-length": 0 });
        res.end();
        return;
      }
      // Read on first use; a failed read is tried again on the next request.
      assets ??= loadAssets(options.dir ?? PUBLIC_DIR).catch((err: unknown) => {
        assets = null;
        throw err;
      });
      const name = path === `${prefix}/` ? "index.html" : path.slice(prefix.length + 1);
      const asset = (await assets).get(name);
      if (asset === undefined) throw new RouteNotFoundError(method, path);
      send(req, res, asset);
    },
  };
}
