/**
 * Classification of every upstream answer. Pure and total: any status, body
 * and header combination, or transport error, maps to exactly one outcome.
 */
import { retryAfterMs, type HeaderGetter } from "./ratelimit-headers.ts";

export const OUTCOME_KINDS = [
  "success",
  "invalid", // the key is dead: invalid, revoked, account deactivated
  "quota", // out of quota or billing: the key may recover
  "rate_limited", // too fast: cool until the upstream's reset time
  "too_large", // one request above the key's TPM limit: the caller's fault
  "model_missing", // this key lacks the model; others may have it
  "caller_error", // the request itself is wrong: pass it back
  "upstream_fault", // 5xx, timeout, reset: ambiguous
  "auth_ambiguous", // 401/403 without a code we know (resellers): ambiguous
  "session_expired", // web access token expired: refresh and retry
] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

export type TransportFailure = "timeout" | "reset" | "connect";

export interface ClassifyInput {
  status?: number;
  headers?: HeaderGetter;
  /** Parsed JSON body, or its text when it isn't JSON. */
  body?: unknown;
  transport?: TransportFailure;
  now?: number;
}

export interface Outcome {
  kind: OutcomeKind;
  status: number | null;
  code: string | null;
  type: string | null;
  /** An excerpt of the upstream's message. */
  message: string | null;
  /** Wait the upstream asked for (rate limits), when it gave one. */
  retryAfterMs: number | null;
  transport: TransportFailure | null;
}

const INVALID = new Set(["invalid_api_key", "account_deactivated", "invalid_organization", "organization_deactivated", "access_terminated", "key_revoked"]);
const QUOTA = new Set(["insufficient_quota", "billing_not_active", "billing_hard_limit_reached", "quota_exceeded"]);
const CALLER_STATUSES = new Set([400, 404, 405, 409, 413, 415, 422]);

interface ErrorFields {
  code: string | null;
  type: string | null;
  message: string | null;
}

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

/** OpenAI's `{error: {...}}`, the web backend's `{detail: ...}`, or plain text. */
export function errorFields(body: unknown): ErrorFields {
  if (typeof body === "string") return { code: null, type: null, message: str(body.slice(0, 300)) };
  if (typeof body !== "object" || body === null) return { code: null, type: null, message: null };
  const b = body as Record<string, unknown>;
  const inner = (typeof b.error === "object" && b.error !== null ? b.error : typeof b.detail === "object" && b.detail !== null ? b.detail : b) as Record<string, unknown>;
  const message = str(inner.message) ?? str(b.detail) ?? str(b.error) ?? str(b.message);
  return { code: str(inner.code), type: str(inner.type), message: message === null ? null : message.slice(0, 300) };
}

export function classify(input: ClassifyInput): Outcome {
  const base = { retryAfterMs: null, transport: null };
  if (input.transport !== undefined) {
    return { ...base, kind: "upstream_fault", status: null, code: null, type: null, message: `upstream ${input.transport}`, transport: input.transport };
  }
  const status = input.status ?? 0;
  if (status >= 200 && status < 300) return { ...base, kind: "success", status, code: null, type: null, message: null };
  const f = errorFields(input.body);
  const out = (kind: OutcomeKind, extra: Partial<Outcome> = {}): Outcome => ({ ...base, kind, status, ...f, ...extra });
  // Older answers carry the reason in `type` with `code: null`: match either.
  const has = (set: Set<string>): boolean => (f.code !== null && set.has(f.code)) || (f.type !== null && set.has(f.type));

  if (has(INVALID)) return out("invalid");
  if (has(QUOTA)) return out("quota");
  if (f.code === "token_expired") return out("session_expired");
  if (status === 401 && f.message !== null && /incorrect api key provided/i.test(f.message)) return out("invalid");
  if (status === 429) {
    if (f.message !== null && /^request too large/i.test(f.message)) return out("too_large");
    return out("rate_limited", { retryAfterMs: input.headers === undefined ? null : retryAfterMs(input.headers, input.now) });
  }
  if (f.code === "model_not_found") return out("model_missing");
  if (status === 401 || status === 403) return out("auth_ambiguous");
  if (status === 408 || status >= 500) return out("upstream_fault");
  if (CALLER_STATUSES.has(status) || (status >= 400 && status < 500)) return out("caller_error");
  // 1xx/3xx or nonsense from a misbehaving relay: not the caller's fault, maybe the key's.
  return out("upstream_fault");
}

/** Outcomes after which the request may go to another credential. */
export function isFailover(kind: OutcomeKind): boolean {
  return kind !== "success" && kind !== "caller_error" && kind !== "too_large";
}

/** Outcomes that say nothing certain about the key; they count in the sliding window. */
export function isAmbiguous(kind: OutcomeKind): boolean {
  return kind === "upstream_fault" || kind === "auth_ambiguous";
}
