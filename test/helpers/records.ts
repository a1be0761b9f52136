import { makeEvent } from "../../src/pool/audit.ts";
import { newCredentialRecord } from "../../src/pool/credential-record.ts";
import type { CredentialInput, CredentialRecord } from "../../src/pool/types.ts";
import type { InsertItem } from "../../src/store/types.ts";

export const TEST_SALT = "test-salt";

export function record(secret: string, extra: Partial<CredentialInput> = {}, now = Date.now()): CredentialRecord {
  return newCredentialRecord({ secret, ...extra }, TEST_SALT, now);
}

export function insertItem(rec: CredentialRecord, instance = "test"): InsertItem {
  return { record: rec, event: makeEvent(rec, { kind: "added", to: rec.state, reason: "added" }, instance) };
}

/** Keys shaped like OpenAI's, distinct and deterministic. */
export function fakeKey(i: number): string {
  return `sk-test-${String(i).padStart(8, "0")}${"x".repeat(24)}${String(i % 10000).padStart(4, "0")}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns true or the time runs out; returns how long it took. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, stepMs = 2): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
  return performance.now() - start;
}
