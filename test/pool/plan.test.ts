import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { classify, OUTCOME_KINDS, type Outcome } from "../../src/pool/outcome.ts";
import { planCooldownOver, planForOutcome, planManual, planBudget, type OutcomeContext } from "../../src/pool/plan.ts";
import { DEFAULT_POLICY } from "../../src/pool/policy.ts";
import { isLegalTransition } from "../../src/pool/state-machine.ts";
import { CREDENTIAL_STATES, type CredentialRecord } from "../../src/pool/types.ts";
import { record } from "../helpers/records.ts";

const NOW = 1_700_000_000_000;
const ctx = (over: Partial<OutcomeContext> = {}): OutcomeContext => ({ model: "gpt-4o-mini", now: NOW, policy: DEFAULT_POLICY, ambiguousCount: 1, ejectedPercent: 0, ejectedPercentAfter: 10, ...over });
const body = (code: string | null, type: string | null, message = "m") => ({ error: { message, type, param: null, code } });
const rec = (over: Partial<CredentialRecord> = {}): CredentialRecord => ({ ...record("sk-test-plan-000000000000000001"), ...over });

describe("plans for outcomes", () => {
  it("retires an invalid key with its evidence, or removes it under onInvalid: remove", () => {
    const o = classify({ status: 401, body: body("invalid_api_key", "invalid_request_error", "Incorrect API key provided: sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ123456") });
    const p = planForOutcome(rec(), o, ctx());
    assert.equal(p?.to, "retired");
    assert.equal(p?.reason, "invalid_api_key");
    assert.equal(p?.evidence?.status, 401);
    assert.ok(!p?.evidence?.message?.includes("ABCDEFGHIJKLMNOPQRSTUVWXYZ123456"), "a key echoed in the message is scrubbed");
    assert.equal(planForOutcome(rec(), o, ctx({ policy: { ...DEFAULT_POLICY, onInvalid: "remove" } }))?.to, "removed");
    assert.equal(planForOutcome(rec({ state: "retired" }), o, ctx()), null, "already retired: nothing to do");
  });

  it("quarantines on quota, including the legacy type-only shape", () => {
    assert.equal(planForOutcome(rec(), classify({ status: 429, body: body(null, "insufficient_quota") }), ctx())?.to, "quarantined");
  });

  it("cools only the limited model until the upstream's reset time", () => {
    const o: Outcome = { ...classify({ status: 429, body: body("rate_limit_exceeded", "requests") }), retryAfterMs: 20_000 };
    const p = planForOutcome(rec(), o, ctx());
    assert.equal(p?.to, "cooling");
    assert.deepEqual(p?.patch.modelCooldowns, { "gpt-4o-mini": NOW + 20_000 });
    assert.equal(p?.patch.coolUntil, undefined, "the key stays usable for other models");
    const keyWide = planForOutcome(rec(), o, ctx({ model: null }));
    assert.equal(keyWide?.patch.coolUntil, NOW + 20_000);
  });

  it("escalates cooldowns when the upstream gives no reset time", () => {
    const o = classify({ status: 429, body: body("rate_limit_exceeded", "requests") });
    const waits = [0, 1, 2, 3, 10].map((streak) => {
      const p = planForOutcome(rec({ rateLimitStreak: streak }), o, ctx({ model: null }));
      return p!.patch.coolUntil! - NOW;
    });
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 60_000]);
  });

  it("changes nothing for caller errors and too-large requests", () => {
    assert.equal(planForOutcome(rec(), classify({ status: 400, body: body("context_length_exceeded", "invalid_request_error") }), ctx()), null);
    assert.equal(planForOutcome(rec(), classify({ status: 429, body: body("rate_limit_exceeded", "tokens", "Request too large for gpt-4o-mini") }), ctx()), null);
  });

  it("acts on ambiguous failures only past the threshold, within the ejection cap, with growing cooldowns", () => {
    const o = classify({ status: 500, body: "" });
    assert.equal(planForOutcome(rec(), o, ctx({ ambiguousCount: 4 })), null, "below the threshold");
    assert.equal(planForOutcome(rec(), o, ctx({ ambiguousCount: 5, ejectedPercentAfter: 60 })), null, "would eject more than half the pool");
    const first = planForOutcome(rec(), o, ctx({ ambiguousCount: 5 }));
    assert.equal(first?.to, "cooling");
    assert.equal(first?.patch.coolUntil, NOW + 30_000);
    const third = planForOutcome(rec({ ejections: 2 }), o, ctx({ ambiguousCount: 5 }));
    assert.equal(third?.patch.coolUntil, NOW + 90_000);
    const auth = planForOutcome(rec(), classify({ status: 401, body: "Unauthorized" }), ctx({ ambiguousCount: 5 }));
    assert.equal(auth?.to, "quarantined", "repeated unexplained 401s go to the health checker, not to retirement");
  });

  it("learns a missing model without changing state", () => {
    const p = planForOutcome(rec(), classify({ status: 404, body: body("model_not_found", "invalid_request_error") }), ctx({ model: "gpt-9" }));
    assert.deepEqual(p?.patch.missingModels, ["gpt-9"]);
    assert.equal(p?.to, "active");
  });

  it("ends a cooldown only when every cooldown has run out", () => {
    assert.equal(planCooldownOver(rec({ state: "cooling", coolUntil: NOW + 1 }), NOW), null);
    assert.equal(planCooldownOver(rec({ state: "cooling", modelCooldowns: { a: NOW + 1 } }), NOW), null);
    assert.equal(planCooldownOver(rec({ state: "cooling", coolUntil: NOW - 1, modelCooldowns: { a: NOW - 1 } }), NOW)?.to, "active");
  });

  it("quarantines when the budget is spent", () => {
    assert.equal(planBudget(rec({ budgetUsd: 1 }), 0.5, NOW), null);
    assert.equal(planBudget(rec({ budgetUsd: 1 }), 1, NOW)?.to, "quarantined");
    assert.equal(planBudget(rec({ budgetUsd: null }), 100, NOW), null);
  });

  it("lets a person enable a retired key and disable any", () => {
    assert.equal(planManual(rec({ state: "retired" }), "enable", NOW)?.to, "active");
    assert.equal(planManual(rec(), "disable", NOW)?.to, "disabled");
    assert.equal(planManual(rec(), "enable", NOW), null);
  });
});

describe("state machine properties", () => {
  const state = fc.constantFrom(...CREDENTIAL_STATES);
  const outcome = fc.record({
    kind: fc.constantFrom(...OUTCOME_KINDS),
    status: fc.option(fc.integer({ min: 100, max: 599 }), { nil: null }),
    code: fc.option(fc.string(), { nil: null }),
    type: fc.option(fc.string(), { nil: null }),
    message: fc.option(fc.string(), { nil: null }),
    retryAfterMs: fc.option(fc.nat(), { nil: null }),
    transport: fc.constant(null),
  });

  it("automatic plans only make legal transitions, and never touch retired or disabled keys", () => {
    fc.assert(
      fc.property(state, outcome, fc.nat(20), fc.integer({ min: 0, max: 100 }), fc.option(fc.string({ minLength: 1 }), { nil: null }), (s, o, count, share, model) => {
        const r = rec({ state: s });
        const p = planForOutcome(r, o, ctx({ ambiguousCount: count, ejectedPercentAfter: share, model }));
        if (p === null || p.event !== "state") return;
        if (p.to === "removed") return assert.equal(o.kind, "invalid");
        assert.ok(isLegalTransition(s, p.to, "traffic"), `${s} → ${p.to} on ${o.kind}`);
        assert.ok(p.from.includes(s));
      }),
      { numRuns: 2000 },
    );
  });

  it("classification is total: any status and body give one known outcome", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), fc.anything(), (status, b) => {
        assert.ok(OUTCOME_KINDS.includes(classify({ status, body: b }).kind));
      }),
      { numRuns: 2000 },
    );
  });
});
