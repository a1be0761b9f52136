import { maskSecret } from "../util/mask.ts";
import type { CredentialRecord, CredentialView } from "./types.ts";

/** A credential as it may be shown: everything but the secret, which is masked. */
export function toView(r: CredentialRecord): CredentialView {
  const { secret, meta: _meta, ...rest } = r;
  return { ...rest, key: maskSecret(secret) };
}
