/**
 * Pure decisions: given a credential and what happened, what should change.
 * The pool applies a plan through the store's compare-and-set update.
 */
import type { CredentialPatch } from "../store/types.ts";
import { scrubSecrets } from "../util/scrub.ts";
import type { Outcome } from "./outcome.ts";
import type { PoolPolicy } from "./policy.ts";
import { legalSources, type Actor } from "./state-machine.ts";
import type { AuditKind, CredentialRecord, CredentialState, Evidence } from "./types.ts";

export interface Plan {
  /** `removed` deletes the credential (onInvalid: "remove"). */
  to: CredentialState | "removed";
  /** Compare-and-set guard: the states the change is valid from. */
  from: readonly CredentialState[];
  patch: CredentialPatch;
  reason: string;
  evidence: Evidence | null;
  /** Audit kind; null for bookkeeping that is not worth an event. */
  event: AuditKind | null;
}

export interface OutcomeContext {
  model: string | null;
  now: number;
  policy: PoolPolicy;
  /** Ambiguous failures of this key inside the policy window, this one included. */
  ambiguousCount: number;
  /** Share (0..100) of the pool already out for ambiguous reasons. */
  ejectedPercent: number;
  /** One more ejection would put this share (0..100) of the pool out. */
  ejectedPercentAfter: number;
}

export function evidenceOf(o: Outcome, extra: Partial<Evidence> = {}): Evidence {
  const e: Evidence = {};
  if (o.status !== null) e.status = o.status;
  if (o.code !== null) e.code = o.code;
  if (o.type !== null) e.type = o.type;
  if (o.message !== null) e.message = scrubSecrets(o.message).slice(0, 200);
  return { ...e, ...extra };
}

const stateChange = (rec: CredentialRecord, to: CredentialState, actor: Actor, now: number, reason: string, patch: CredentialPatch, evidence: Evidence | null): Plan => ({
  to,
  from: legalSources(to, actor),
  patch: { ...patch, state: to, reason, since: to === rec.state ? rec.since : now },
  reason,
  evidence,
  event: "state",
});

/** Model cooldowns still running; expired ones are dropped as a side benefit of each write. */
function liveCooldowns(rec: CredentialRecord, now: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [m, until] of Object.entries(rec.modelCooldowns)) if (until > now) out[m] = until;
  return out;
}

export function planForOutcome(rec: CredentialRecord, o: Outcome, ctx: OutcomeContext): Plan | null {
  const { now, policy, model } = ctx;
  const modelEvidence = model === null ? {} : { model };
  switch (o.kind) {
    case "success":
      if (rec.rateLimitStreak === 0 && rec.ejections === 0) return null;
      return { to: rec.state, from: [rec.state], patch: { rateLimitStreak: 0, ejections: 0 }, reason: "healthy again", evidence: null, event: null };
    case "invalid":
      if (rec.state === "retired" || rec.state === "disabled") return null;
      if (policy.onInvalid === "remove") {
        return { to: "removed", from: [rec.state], patch: {}, reason: o.code ?? "invalid credential", evidence: evidenceOf(o, modelEvidence), event: "removed" };
      }
      return stateChange(rec, "retired", "traffic", now, o.code ?? o.type ?? "invalid credential", { coolUntil: 0, modelCooldowns: {} }, evidenceOf(o, modelEvidence));
    case "quota":
      if (rec.state !== "active" && rec.state !== "cooling") return null;
      return stateChange(rec, "quarantined", "traffic", now, o.code ?? o.type ?? "out of quota", { coolUntil: 0, modelCooldowns: {} }, evidenceOf(o, modelEvidence));
    case "rate_limited": {
      if (rec.state !== "active" && rec.state !== "cooling") return null;
      const known = o.retryAfterMs !== null;
      const wait = known
        ? Math.min(o.retryAfterMs!, policy.maxCooldownMs)
        : Math.min(policy.rateLimitBaseMs * 2 ** rec.rateLimitStreak, policy.rateLimitMaxMs);
      const until = now + Math.max(wait, 1);
      const patch: CredentialPatch = { rateLimitStreak: known ? 0 : rec.rateLimitStreak + 1 };
      if (model !== null) patch.modelCooldowns = { ...liveCooldowns(rec, now), [model]: Math.max(until, rec.modelCooldowns[model] ?? 0) };
      else patch.coolUntil = Math.max(until, rec.coolUntil);
      const scope = model === null ? "" : ` for ${model}`;
      return stateChange(rec, "cooling", "traffic", now, `rate limited${scope}`, patch, evidenceOf(o, { ...modelEvidence, until }));
    }
    case "model_missing": {
      if (model === null || rec.missingModels.includes(model)) return null;
      const missing = [...rec.missingModels, model].slice(-policy.maxMissingModels);
      return { to: rec.state, from: [rec.state], patch: { missingModels: missing }, reason: `lacks model ${model}`, evidence: evidenceOf(o, modelEvidence), event: "updated" };
    }
    case "upstream_fault":
    case "auth_ambiguous": {
      if (rec.state !== "active" && rec.state !== "cooling") return null;
      if (ctx.ambiguousCount < policy.ambiguousThreshold) return null;
      // When most keys fail the same way at once the upstream is down, not the keys.
      if (ctx.ejectedPercentAfter > policy.maxEjectionPercent) return null;
      const what = o.kind === "upstream_fault" ? "upstream faults" : "unexplained auth failures";
      const reason = `${ctx.ambiguousCount} ${what} in ${Math.round(policy.ambiguousWindowMs / 1000)}s`;
      const evidence = evidenceOf(o, modelEvidence);
      if (o.kind === "auth_ambiguous") {
        return stateChange(rec, "quarantined", "traffic", now, reason, { coolUntil: 0, ejections: rec.ejections + 1 }, evidence);
      }
      const until = now + Math.min(policy.baseEjectionMs * (rec.ejections + 1), policy.maxEjectionMs);
      return stateChange(rec, "cooling", "traffic", now, reason, { coolUntil: Math.max(until, rec.coolUntil), ejections: rec.ejections + 1 }, { ...evidence, until });
    }
    case "too_large":
    case "caller_error":
    case "session_expired":
      return null;
  }
}

/** A cooling key whose cooldowns have all run out becomes active again. */
export function planCooldownOver(rec: CredentialRecord, now: number): Plan | null {
  if (rec.state !== "cooling" || rec.coolUntil > now) return null;
  if (Object.values(rec.modelCooldowns).some((until) => until > now)) return null;
  return { to: "active", from: ["cooling"], patch: { state: "active", reason: "cooldown over", since: now, coolUntil: 0, modelCooldowns: {} }, reason: "cooldown over", evidence: null, event: "state" };
}

export function planManual(rec: CredentialRecord, action: "enable" | "disable", now: number, note?: string): Plan | null {
  const to: CredentialState = action === "enable" ? "active" : "disabled";
  if (rec.state === to) return null;
  const reason = note ?? (action === "enable" ? "enabled by hand" : "disabled by hand");
  return {
    to,
    from: legalSources(to, "manual"),
    patch: { state: to, reason, since: now, coolUntil: 0, modelCooldowns: {}, ejections: 0, rateLimitStreak: 0, ...(action === "enable" ? { missingModels: [] } : {}) },
    reason,
    evidence: null,
    event: "state",
  };
}

const BUDGET_SPENT = "budget spent";

/** The reason a key rests for its budget, wherever that is found (traffic or a health round). */
export function budgetReason(spentUsd: number, budgetUsd: number): string {
  return `${BUDGET_SPENT} ($${spentUsd.toFixed(4)} of $${budgetUsd})`;
}

/** Whether a key rests because its budget is spent (no upstream answer can change that). */
export function restsForBudget(rec: CredentialRecord): boolean {
  return rec.state === "quarantined" && (rec.reason ?? "").startsWith(BUDGET_SPENT);
}

/** A key whose metered spend reached its budget rests until the health checker sees room again. */
export function planBudget(rec: CredentialRecord, spentUsd: number, now: number): Plan | null {
  if (rec.budgetUsd === null || spentUsd < rec.budgetUsd) return null;
  if (rec.state !== "active" && rec.state !== "cooling") return null;
  const reason = budgetReason(spentUsd, rec.budgetUsd);
  return stateChange(rec, "quarantined", "traffic", now, reason, { coolUntil: 0, modelCooldowns: {} }, { message: reason });
}
