import { maskSecret } from "../util/mask.ts";
import type { CredentialRecord, CredentialView } from "./types.ts";

/**
 * A credential as it may be shown: everything but the secret (masked) and the
 * backend's meta. Spelled out field by field: listing 100,000 keys stays fast,
 * and the type checker flags a new field that needs a decision here.
 */
export function toView(r: CredentialRecord): CredentialView {
  return {
    id: r.id,
    key: maskSecret(r.secret),
    kind: r.kind,
    fingerprint: r.fingerprint,
    label: r.label,
    baseURL: r.baseURL,
    authStyle: r.authStyle,
    organization: r.organization,
    project: r.project,
    proxy: r.proxy,
    weight: r.weight,
    models: r.models,
    missingModels: r.missingModels,
    maxInFlight: r.maxInFlight,
    budgetUsd: r.budgetUsd,
    rpm: r.rpm,
    tpm: r.tpm,
    state: r.state,
    reason: r.reason,
    since: r.since,
    coolUntil: r.coolUntil,
    modelCooldowns: r.modelCooldowns,
    ejections: r.ejections,
    rateLimitStreak: r.rateLimitStreak,
    spentUsd: r.spentUsd,
    requests: r.requests,
    failures: r.failures,
    lastUsedAt: r.lastUsedAt,
    createdAt: r.createdAt,
    rev: r.rev,
  };
}
