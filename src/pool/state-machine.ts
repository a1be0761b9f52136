/**
 * The legal transitions between credential states. Automatic changes (traffic,
 * the health checker, timers) never leave `retired` or `disabled`: only a
 * person brings those back.
 */
import type { CredentialState } from "./types.ts";

export type Actor = "traffic" | "health" | "timer" | "manual";

const AUTOMATIC: Record<CredentialState, readonly CredentialState[]> = {
  active: ["cooling", "quarantined", "retired"],
  cooling: ["active", "cooling", "quarantined", "retired"],
  quarantined: ["active", "retired"],
  retired: [],
  disabled: [],
};

const MANUAL: Record<CredentialState, readonly CredentialState[]> = {
  active: ["disabled"],
  cooling: ["active", "disabled"],
  quarantined: ["active", "disabled"],
  retired: ["active", "disabled"],
  disabled: ["active"],
};

export function isLegalTransition(from: CredentialState, to: CredentialState, actor: Actor): boolean {
  return (actor === "manual" ? MANUAL : AUTOMATIC)[from].includes(to);
}

/** The states from which `actor` may move a credential to `to`: the compare-and-set guard of a store update. */
export function legalSources(to: CredentialState, actor: Actor): CredentialState[] {
  const table = actor === "manual" ? MANUAL : AUTOMATIC;
  return (Object.keys(table) as CredentialState[]).filter((from) => table[from].includes(to));
}
