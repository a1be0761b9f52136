/**
 * The ChatGPT web session's wire details, pure: the cookies and headers a
 * request carries, a rotated session token in `Set-Cookie`, the access
 * token's expiry, and what an `/api/auth/session` answer means for the
 * credential (an Outcome, so the pool's state machine can act on it).
 */
import { classify, type Outcome } from "../../../pool/outcome.ts";
import type { CredentialRecord } from "../../../pool/types.ts";

export const SESSION_COOKIE = "__Secure-next-auth.session-token";
export const DEFAULT_WEB_BASE_URL = "https://chatgpt.com";
export const DEFAULT_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

/** Meta fields of a web credential. */
export const META = {
  cfClearance: "cfClearance",
  userAgent: "userAgent",
  accessToken: "accessToken",
  /** ms since epoch, as a string. */
  accessTokenExpires: "accessTokenExpires",
  /** When it was obtained (ms), to size the refresh margin. */
  accessTokenIssued: "accessTokenIssued",
} as const;

export function webHeaders(rec: CredentialRecord, extra: Record<string, string> = {}): Record<string, string> {
  const cf = rec.meta[META.cfClearance];
  const cookie = `${SESSION_COOKIE}=${rec.secret}${cf === undefined || cf === "" ? "" : `; cf_clearance=${cf}`}`;
  return {
    cookie,
    "user-agent": rec.meta[META.userAgent] || DEFAULT_USER_AGENT,
    "accept-language": "en-US,en;q=0.9",
    ...extra,
  };
}

/**
 * The new session token from `Set-Cookie`, if the answer rotated it (also in
 * next-auth's chunked form `NAME.0`, `NAME.1`...). Null when not rotated.
 */
export function rotatedToken(setCookie: string | string[] | undefined): string | null {
  if (setCookie === undefined) return null;
  const list = Array.isArray(setCookie) ? setCookie : [setCookie];
  let whole: string | null = null;
  const chunks: [number, string][] = [];
  for (const line of list) {
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const name = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).split(";")[0]!.trim();
    if (name === SESSION_COOKIE) whole = value;
    else if (name.startsWith(`${SESSION_COOKIE}.`)) {
      const n = Number(name.slice(SESSION_COOKIE.length + 1));
      if (Number.isInteger(n)) chunks.push([n, value]);
    }
  }
  if (whole === null && chunks.length > 0) whole = chunks.sort((a, b) => a[0] - b[0]).map((c) => c[1]).join("");
  return whole === null || whole === "" ? null : decodeURIComponent(whole);
}

/** The `exp` of a JWT access token, in ms; null when it isn't a readable JWT. */
export function jwtExpiry(token: string): number | null {
  const payload = token.split(".")[1];
  if (payload === undefined) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown };
    return typeof claims.exp === "number" && Number.isFinite(claims.exp) ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** Without a readable expiry, a token is trusted this long before it is refreshed again. */
const UNKNOWN_LIFETIME_MS = 10 * 60_000;

/** The cached access token when it is still good (a margin before its expiry), else null. */
export function cachedAccessToken(rec: CredentialRecord, now: number): string | null {
  const token = rec.meta[META.accessToken];
  const expires = Number(rec.meta[META.accessTokenExpires]);
  if (token === undefined || token === "" || !Number.isFinite(expires)) return null;
  const issued = Number(rec.meta[META.accessTokenIssued]);
  const lifetime = Number.isFinite(issued) && issued < expires ? expires - issued : UNKNOWN_LIFETIME_MS;
  const margin = Math.min(60_000, lifetime / 10);
  return now < expires - margin ? token : null;
}

export interface SessionAnswer {
  outcome: Outcome;
  accessToken: string | null;
  expires: number | null;
}

function bodyOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * What `/api/auth/session` said: an access token (success); a session that
 * can't refresh (`RefreshAccessTokenError`) or isn't signed in (`{}`), both
 * definitive (invalid); a Cloudflare challenge (ambiguous: cf_clearance or
 * User-Agent stale); or an HTTP error classified as any upstream answer.
 */
export function readSessionAnswer(status: number, headers: { get(name: string): string | null | undefined }, text: string, now: number): SessionAnswer {
  const none = { accessToken: null, expires: null };
  if (status === 403 && (headers.get("cf-mitigated") === "challenge" || /<title>Just a moment/i.test(text))) {
    const o = classify({ status });
    return { ...none, outcome: { ...o, code: "cf_challenge", message: "Cloudflare challenge: set the credential's cfClearance and userAgent from the browser that passed it" } };
  }
  const body = bodyOf(text);
  if (status !== 200) return { ...none, outcome: classify({ status, body }) };
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const invalid = (code: string, message: string): SessionAnswer => ({
    ...none,
    outcome: { kind: "invalid", status, code, type: null, message, retryAfterMs: null, transport: null },
  });
  if (typeof b.error === "string" && b.error !== "") return invalid(b.error, `the session can't refresh its access token (${b.error}); sign in again and add the new session token`);
  if (typeof b.accessToken !== "string" || b.accessToken === "") return invalid("not_signed_in", "the session token is not signed in (the answer has no accessToken)");
  return { outcome: classify({ status }), accessToken: b.accessToken, expires: jwtExpiry(b.accessToken) ?? now + UNKNOWN_LIFETIME_MS };
}

/** Matches the backend's 429 "Only one message at a time": a collision, not a rate limit of the account. */
export function isCollision(o: Outcome): boolean {
  return o.status === 429 && o.message !== null && /only one message at a time/i.test(o.message);
}
