import { timeOrderedId } from "../util/ids.ts";
import type { AuditEvent, AuditKind, CredentialRecord, CredentialState, Evidence } from "./types.ts";

export interface EventFacts {
  kind: AuditKind;
  from?: CredentialState | null;
  to?: CredentialState | null;
  reason: string;
  evidence?: Evidence | null;
}

export function makeEvent(
  record: Pick<CredentialRecord, "id" | "fingerprint">,
  facts: EventFacts,
  instance: string,
  now: number = Date.now(),
): AuditEvent {
  return {
    id: timeOrderedId("ev", now),
    time: now,
    credentialId: record.id,
    fingerprint: record.fingerprint,
    kind: facts.kind,
    from: facts.from ?? null,
    to: facts.to ?? null,
    reason: facts.reason,
    evidence: facts.evidence ?? null,
    instance,
  };
}
