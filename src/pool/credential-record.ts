import { createHash, createHmac } from "node:crypto";
import type { CredentialInput, CredentialRecord } from "./types.ts";

/** Derived from the secret alone, so the same key added twice (or on another instance) is one credential. */
export function credentialId(secret: string): string {
  return `key_${createHash("sha256").update(secret).digest("hex").slice(0, 16)}`;
}

/** Keyed with a per-store salt, as Vault's audit log hashes secrets: not reversible by guessing. */
export function fingerprintOf(secret: string, salt: string): string {
  return createHmac("sha256", salt).update(secret).digest("hex").slice(0, 32);
}

export function newCredentialRecord(input: CredentialInput, salt: string, now: number = Date.now()): CredentialRecord {
  return {
    id: credentialId(input.secret),
    kind: input.kind ?? "api",
    secret: input.secret,
    fingerprint: fingerprintOf(input.secret, salt),
    label: input.label ?? null,
    baseURL: input.baseURL ?? null,
    authStyle: input.authStyle ?? "bearer",
    organization: input.organization ?? null,
    project: input.project ?? null,
    proxy: input.proxy ?? null,
    weight: input.weight ?? 1,
    models: input.models ?? null,
    missingModels: [],
    maxInFlight: input.maxInFlight ?? null,
    budgetUsd: input.budgetUsd ?? null,
    rpm: input.rpm ?? null,
    tpm: input.tpm ?? null,
    meta: input.meta ?? {},
    state: "active",
    reason: null,
    since: now,
    coolUntil: 0,
    modelCooldowns: {},
    ejections: 0,
    rateLimitStreak: 0,
    spentUsd: 0,
    requests: 0,
    failures: 0,
    lastUsedAt: null,
    createdAt: now,
    rev: 1,
  };
}
