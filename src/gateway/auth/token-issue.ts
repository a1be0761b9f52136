/**
 * Client tokens: made here, shown once, stored as a sha256 hash. Shared by
 * the admin API and the CLI so both make the same kind of token.
 */
import { createHash, randomBytes } from "node:crypto";
import { ValidationError } from "../../errors/index.ts";
import type { ClientToken, Store } from "../../store/types.ts";
import { randomId } from "../../util/ids.ts";
import { maskSecret } from "../../util/mask.ts";

export const TOKEN_PREFIX = "kp-";

export interface TokenSpec {
  name: string;
  models?: string[] | null;
  quotaTokens?: number | null;
  rpm?: number | null;
  expiresAt?: number | null;
}

/** A token as listings show it: no hash, no secret. */
export type TokenView = Omit<ClientToken, "hash"> & { state: "active" | "expired" | "revoked" };

export const hashToken = (token: string): string => createHash("sha256").update(token).digest("hex");

export function tokenState(t: ClientToken, now: number = Date.now()): TokenView["state"] {
  if (t.revokedAt !== null) return "revoked";
  if (t.expiresAt !== null && t.expiresAt <= now) return "expired";
  return "active";
}

export function tokenView(t: ClientToken, now: number = Date.now()): TokenView {
  const { hash: _hash, ...rest } = t;
  return { ...rest, state: tokenState(t, now) };
}

/** Creates a token; the returned `token` is the only time the secret exists outside its holder. */
export async function issueToken(store: Store, spec: TokenSpec, now: number = Date.now()): Promise<{ token: string; record: ClientToken }> {
  const name = spec.name.trim();
  if (name === "") throw new ValidationError("name must not be empty", "name");
  if (spec.expiresAt != null && spec.expiresAt <= now) throw new ValidationError("expires must be in the future", "expiresAt");
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
  const record: ClientToken = {
    id: randomId("tok", 8),
    name,
    hash: hashToken(token),
    hint: maskSecret(token),
    models: spec.models == null || spec.models.length === 0 ? null : [...new Set(spec.models)],
    quotaTokens: spec.quotaTokens ?? null,
    usedTokens: 0,
    rpm: spec.rpm ?? null,
    expiresAt: spec.expiresAt ?? null,
    createdAt: now,
    revokedAt: null,
    lastUsedAt: null,
  };
  await store.tokens.create(record);
  return { token, record };
}

/** `2025-12-31`, an ISO time, `30d`/`12h`, or ms since epoch → ms since epoch. */
export function parseExpiry(value: string | number, now: number = Date.now()): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ValidationError("expires must be a date", "expiresAt");
    return value;
  }
  const rel = /^(\d+)\s*([dhm])$/i.exec(value.trim());
  if (rel !== null) return now + Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2]!.toLowerCase() as "d" | "h" | "m"];
  if (/^\d+$/.test(value.trim())) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new ValidationError(`expires "${value}" is not a date (use 2026-12-31, an ISO time, or 30d/12h)`, "expiresAt");
  return t;
}
