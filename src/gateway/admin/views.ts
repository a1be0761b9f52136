/** What the admin API shows of a credential: the masked view, a proxy's password masked too. */
import type { ProbeResult } from "../../pool/health/checker.ts";
import type { CredentialView } from "../../pool/types.ts";
import { scrubSecrets } from "../../util/scrub.ts";

export function adminKeyView(v: CredentialView): CredentialView {
  if (v.proxy === null || !v.proxy.includes("@")) return v;
  try {
    const u = new URL(v.proxy);
    if (u.password !== "") u.password = "***";
    return { ...v, proxy: u.toString() };
  } catch {
    return { ...v, proxy: "***" };
  }
}

/** A probe result with anything key-like in its texts masked (upstream messages may echo keys). */
export function cleanProbe(r: ProbeResult): ProbeResult {
  return { ...r, finding: scrubSecrets(r.finding), ...(r.error === undefined ? {} : { error: scrubSecrets(r.error) }) };
}
