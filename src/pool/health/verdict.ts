/**
 * What a probe says about a credential. Pure. The legacy billing pair is read
 * as the write-up did (expired, zero limit, usage at the limit → out), with
 * one correction: an answer without the fields means "unsupported", never
 * "balance 0" — many relays answer 200 with something else entirely.
 */
import { budgetReason, evidenceOf, type Plan } from "../plan.ts";
import type { Outcome } from "../outcome.ts";
import { legalSources } from "../state-machine.ts";
import type { CredentialRecord } from "../types.ts";

export type BillingVerdict =
  | { kind: "ok"; limitUsd: number | null; usedUsd: number | null }
  | { kind: "unsupported"; why: string }
  | { kind: "expired"; accessUntil: number }
  | { kind: "zero_limit" }
  | { kind: "exhausted"; limitUsd: number; usedUsd: number };

export interface HttpReply {
  status: number;
  body: unknown;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function billingVerdict(subscription: HttpReply, usage: HttpReply | null, now: number): BillingVerdict {
  if (subscription.status !== 200) return { kind: "unsupported", why: `subscription answered ${subscription.status}` };
  const sub = (typeof subscription.body === "object" && subscription.body !== null ? subscription.body : {}) as Record<string, unknown>;
  const limit = num(sub.hard_limit_usd);
  const accessUntil = num(sub.access_until);
  if (limit === null && accessUntil === null) return { kind: "unsupported", why: "subscription lacks hard_limit_usd and access_until" };
  if (accessUntil !== null && accessUntil > 0 && accessUntil * 1000 < now) return { kind: "expired", accessUntil: accessUntil * 1000 };
  if (limit === 0) return { kind: "zero_limit" };
  if (usage === null || usage.status !== 200) return { kind: "ok", limitUsd: limit, usedUsd: null };
  const totalCents = num((usage.body as Record<string, unknown> | null)?.total_usage);
  if (totalCents === null) return { kind: "ok", limitUsd: limit, usedUsd: null };
  const used = totalCents / 100; // total_usage is in cents
  if (limit !== null && used >= limit) return { kind: "exhausted", limitUsd: limit, usedUsd: used };
  return { kind: "ok", limitUsd: limit, usedUsd: used };
}

export interface ProbeReport {
  /** The answer to an authenticated `GET /models`. */
  auth: Outcome;
  /** Null when billing was not asked (known unsupported, or the key is dead). */
  billing: BillingVerdict | null;
  /**
   * A one-token completion, asked of a quarantined key when neither `/models`
   * nor billing can tell whether its quota is back (`/models` answers keys
   * without quota, and most upstreams no longer serve billing). Absent when
   * not asked.
   */
  trial?: Outcome;
  /** The model ids the key's `GET /models` listed, when it answered with a listing. */
  listed?: readonly string[];
}

/** Learned "model not found" entries that the key's listing now shows: the model was rolled out to it since. */
function relisted(rec: CredentialRecord, listed: readonly string[] | undefined): Plan | null {
  if (listed === undefined || rec.missingModels.length === 0) return null;
  const back = rec.missingModels.filter((m) => listed.includes(m));
  if (back.length === 0) return null;
  return {
    to: rec.state,
    from: [rec.state],
    patch: { missingModels: rec.missingModels.filter((m) => !back.includes(m)) },
    reason: `serves ${back.join(", ")} again (listed by GET /models)`,
    evidence: { probe: "models" },
    event: "updated",
  };
}

/** Whether a quarantined key's trial completion is reason to bring it back (null: no trial, decide as before). */
function trialSays(trial: Outcome | undefined): "back" | "stay" | null {
  if (trial === undefined) return null;
  // Rate limits and a missing model say the key itself has quota again; cooling and learning handle the rest.
  return trial.kind === "success" || trial.kind === "rate_limited" || trial.kind === "model_missing" || trial.kind === "too_large" ? "back" : "stay";
}

function to(rec: CredentialRecord, state: "active" | "quarantined" | "retired", reason: string, now: number, evidence: Plan["evidence"]): Plan | null {
  if (rec.state === state) return null;
  const from = legalSources(state, "health");
  if (!from.includes(rec.state)) return null;
  return { to: state, from, patch: { state, reason, since: now, coolUntil: 0, modelCooldowns: {}, ...(state === "active" ? { ejections: 0 } : {}) }, reason, evidence, event: "state" };
}

/** The change a probe calls for, if any: a change of state first; else forgetting models the key lists again. */
export function planForProbe(rec: CredentialRecord, report: ProbeReport, spentUsd: number, now: number): Plan | null {
  return stateForProbe(rec, report, spentUsd, now) ?? relisted(rec, report.listed);
}

function stateForProbe(rec: CredentialRecord, report: ProbeReport, spentUsd: number, now: number): Plan | null {
  const { auth, billing, trial } = report;
  if (auth.kind === "invalid") return to(rec, "retired", auth.code ?? "invalid credential", now, evidenceOf(auth, { probe: "models" }));
  if (auth.kind === "quota") return to(rec, "quarantined", auth.code ?? "out of quota", now, evidenceOf(auth, { probe: "models" }));
  if (trial?.kind === "invalid") return to(rec, "retired", trial.code ?? "invalid credential", now, evidenceOf(trial, { probe: "completion" }));
  if (billing !== null) {
    const why =
      billing.kind === "expired"
        ? `billing: access expired on ${new Date(billing.accessUntil).toISOString().slice(0, 10)}`
        : billing.kind === "zero_limit"
          ? "billing: hard limit is $0"
          : billing.kind === "exhausted"
            ? `billing: used $${billing.usedUsd.toFixed(2)} of $${billing.limitUsd.toFixed(2)}`
            : null;
    if (why !== null) return to(rec, "quarantined", why, now, { probe: "billing", message: why });
  }
  if (rec.budgetUsd !== null && spentUsd >= rec.budgetUsd) {
    return to(rec, "quarantined", budgetReason(spentUsd, rec.budgetUsd), now, { probe: "budget" });
  }
  // Recovery: only a quarantined key comes back this way; cooling ends by time, retired never.
  if (auth.kind === "success" && rec.state === "quarantined") {
    const says = trialSays(trial);
    if (says === "stay") return null;
    if (says === "back") return to(rec, "active", "recovered: a completion succeeded", now, { probe: "completion" });
    return to(rec, "active", billing?.kind === "ok" ? "recovered: billing has room again" : "recovered: answers again", now, { probe: billing === null || billing.kind === "unsupported" ? "models" : "billing" });
  }
  return null;
}
