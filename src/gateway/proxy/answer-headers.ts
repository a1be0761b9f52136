/** Headers across the proxy: the client's on their way upstream, and the upstream's on their way back. */
import type { Dispatched } from "../../transport/dispatch.ts";

/**
 * Answer headers never passed on: hop-by-hop ones, and those about the pooled key that answered
 * rather than the pool: its rate-limit counters (one key's, which would mislead a client of the
 * pool) and its organization and project (which would tell clients whose keys are pooled).
 */
const DROPPED = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "proxy-connection",
  "proxy-authenticate",
  "upgrade",
  "te",
  "trailer",
  "openai-organization",
  "openai-project",
  "x-ratelimit-limit-requests",
  "x-ratelimit-limit-tokens",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-reset-requests",
  "x-ratelimit-reset-tokens",
]);

/** The client's headers for the upstream. Its credentials are dropped by the transport; accept-encoding here, so answers stay readable for metering. */
export function forwardHeaders(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.length === 15 && k.toLowerCase() === "accept-encoding") continue;
    out.push([k, raw[i + 1]!]);
  }
  return out;
}

/** The headers to answer with, as node:http's flat list (no `delete` on undici's object, which would turn it into a slow dictionary). */
export function answerHeaders(h: Dispatched["headers"], bodyChanged: boolean): string[] {
  const out: string[] = [];
  for (const name in h) {
    if (DROPPED.has(name) || (bodyChanged && name === "content-length")) continue;
    const v = h[name];
    if (typeof v === "string") out.push(name, v);
    else if (Array.isArray(v)) for (const x of v) out.push(name, x);
  }
  return out;
}

export function isJson(h: Dispatched["headers"]): boolean {
  const ct = h["content-type"];
  return typeof ct === "string" && ct.includes("json");
}

export function isSse(h: Dispatched["headers"]): boolean {
  const ct = h["content-type"];
  return typeof ct === "string" && ct.includes("text/event-stream");
}
