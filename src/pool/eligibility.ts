/** Whether a stored credential may serve a request, from its record alone. Pure. */
import type { CredentialRecord } from "./types.ts";

/** Why the key can't serve any request now, or null. */
export function keyWideBlock(rec: CredentialRecord, now: number): string | null {
  if (rec.state === "active") return null;
  if (rec.state === "cooling") return rec.coolUntil > now ? "cooling" : null;
  return rec.state;
}

/** Why the key can't serve `model` now (beyond key-wide blocks), or null. */
export function modelBlock(rec: CredentialRecord, model: string, now: number): string | null {
  if (rec.models !== null && !rec.models.includes(model)) return "model_not_allowed";
  if (rec.missingModels.includes(model)) return "model_missing";
  const until = rec.modelCooldowns[model];
  if (until !== undefined && until > now) return "model_cooling";
  return null;
}

export function isUsable(rec: CredentialRecord, model: string | null, now: number): boolean {
  return keyWideBlock(rec, now) === null && (model === null || modelBlock(rec, model, now) === null);
}

/** The earliest time a cooling key may serve `model` again (0 if it can now or never will by waiting). */
export function availableAt(rec: CredentialRecord, model: string | null): number {
  if (rec.state !== "active" && rec.state !== "cooling") return 0;
  const modelUntil = model === null ? 0 : (rec.modelCooldowns[model] ?? 0);
  return Math.max(rec.coolUntil, modelUntil);
}
