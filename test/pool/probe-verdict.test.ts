/** planForProbe: what a health probe's answers do to a credential (pure). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planForProbe, type ProbeReport } from "../../src/pool/health/verdict.ts";
import { classify } from "../../src/pool/outcome.ts";
import { DEFAULT_TRIAL_MODEL, listedModels, trialModel } from "../../src/pool/health/trial-model.ts";
import type { CredentialRecord } from "../../src/pool/types.ts";
import { record } from "../helpers/records.ts";

const NOW = 1_800_000_000_000;
const ok = classify({ status: 200 });
const quota = classify({ status: 429, body: { error: { message: "You exceeded your current quota", type: "insufficient_quota", param: null, code: "insufficient_quota" } } });
const invalid = classify({ status: 401, body: { error: { message: "Incorrect API key", type: "invalid_request_error", param: null, code: "invalid_api_key" } } });
const busy = classify({ status: 503, body: "" });
const unsupported = { kind: "unsupported", why: "subscription answered 403" } as const;

function quarantined(reason: string): CredentialRecord {
  return { ...record("sk-probe-verdict-0000000000000001"), state: "quarantined", reason, since: NOW - 60_000 };
}

const report = (over: Partial<ProbeReport>): ProbeReport => ({ auth: ok, billing: unsupported, ...over });

describe("planForProbe: a quarantined key and its trial completion", () => {
  it("stays quarantined while the trial is out of quota, though /models answers", () => {
    assert.equal(planForProbe(quarantined("insufficient_quota"), report({ trial: quota }), 0, NOW), null);
  });

  it("stays quarantined when the trial is inconclusive (an upstream fault)", () => {
    assert.equal(planForProbe(quarantined("insufficient_quota"), report({ trial: busy }), 0, NOW), null);
  });

  it("comes back when the trial succeeds, naming the evidence", () => {
    const plan = planForProbe(quarantined("insufficient_quota"), report({ trial: ok }), 0, NOW);
    assert.equal(plan?.to, "active");
    assert.equal(plan?.reason, "recovered: a completion succeeded");
    assert.equal(plan?.evidence?.probe, "completion");
  });

  it("is retired when the trial says the key is dead", () => {
    const plan = planForProbe(quarantined("insufficient_quota"), report({ trial: invalid }), 0, NOW);
    assert.equal(plan?.to, "retired");
    assert.equal(plan?.reason, "invalid_api_key");
  });

  it("without a trial, decides on /models and billing as before", () => {
    assert.equal(planForProbe(quarantined("insufficient_quota"), report({}), 0, NOW)?.to, "active");
    assert.equal(planForProbe(quarantined("insufficient_quota"), report({ billing: { kind: "exhausted", limitUsd: 5, usedUsd: 5 } }), 0, NOW), null);
  });
});

describe("planForProbe: models the key lists again", () => {
  it("forgets learned missing models its listing shows, and keeps the others", () => {
    const rec = { ...record("sk-probe-verdict-0000000000000002"), missingModels: ["gpt-4o", "o3", "gpt-5"] };
    const plan = planForProbe(rec, { auth: ok, billing: null, listed: ["gpt-4o-mini", "gpt-4o", "gpt-5"] }, 0, NOW);
    assert.equal(plan?.event, "updated");
    assert.deepEqual(plan?.patch.missingModels, ["o3"]);
    assert.equal(plan?.to, rec.state, "no change of state");
    assert.equal(planForProbe(rec, { auth: ok, billing: null, listed: ["gpt-4o-mini"] }, 0, NOW), null);
    assert.equal(planForProbe(rec, { auth: ok, billing: null }, 0, NOW), null, "no listing, no evidence");
  });

  it("lets a change of state go first", () => {
    const rec = { ...quarantined("insufficient_quota"), missingModels: ["gpt-4o"] };
    assert.equal(planForProbe(rec, { auth: ok, billing: unsupported, trial: ok, listed: ["gpt-4o"] }, 0, NOW)?.to, "active");
  });
});

describe("trialModel: what a trial completion asks for", () => {
  it("takes the key's own allow-list first", () => {
    assert.equal(trialModel(["my-deployment", "gpt-4o"], ["gpt-4o-mini"]), "my-deployment");
  });

  it("prefers a cheap OpenAI chat model the key lists", () => {
    assert.equal(trialModel(null, listedModels({ data: [{ id: "text-embedding-3-small" }, { id: "gpt-4o" }, { id: "gpt-4o-mini" }] })), "gpt-4o-mini");
  });

  it("takes a relay's own chat model, never an embedding or image model", () => {
    assert.equal(trialModel(null, listedModels({ data: [{ id: "bge-embedding-large" }, { id: "dall-e-3" }, { id: "qwen2.5-72b-instruct" }] })), "qwen2.5-72b-instruct");
  });

  it("falls back to the default when the listing is missing or malformed", () => {
    assert.equal(trialModel(null, listedModels("not json")), DEFAULT_TRIAL_MODEL);
    assert.equal(trialModel(null, listedModels({ data: [null, { id: 3 }, {}] })), DEFAULT_TRIAL_MODEL);
    assert.equal(trialModel([], []), DEFAULT_TRIAL_MODEL);
  });
});
