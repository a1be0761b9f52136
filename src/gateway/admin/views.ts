/** What the admin API shows of a credential: the masked view, a proxy's password masked too. */
import type { ProbeResult } from "../../pool/health/checker.ts";
import type { Pool } from "../../pool/pool.ts";
import type { CredentialView } from "../../pool/types.ts";
import { scrubSecrets } from "../../util/scrub.ts";

/** The upstream's last word on a key's rate limit (this instance's, newest model seen). */
export interface RateLimitView {
  /** The model the counts are for ("" when the request named none). */
  model: string;
  remainingRequests: number | null;
  limitRequests: number | null;
  remainingTokens: number | null;
  limitTokens: number | null;
  /** When the counts were seen (ms since epoch). */
  at: number;
  /** When the counts start over (ms since epoch), when the upstream said. */
  resetAt: number | null;
}

export type AdminKeyView = CredentialView & { rateLimit: RateLimitView | null };

function rateLimitOf(pool: Pool, id: string): RateLimitView | null {
  const headroom = pool.index.entries.get(id)?.headroom;
  if (headroom === undefined || headroom.size === 0) return null;
  let best: RateLimitView | null = null;
  for (const [model, h] of headroom) {
    if (best !== null && h.at <= best.at) continue;
    const { info } = h;
    const resets = [info.resetRequestsMs, info.resetTokensMs].filter((v): v is number => v !== null);
    best = {
      model,
      remainingRequests: info.remainingRequests,
      limitRequests: info.limitRequests,
      remainingTokens: info.remainingTokens,
      limitTokens: info.limitTokens,
      at: h.at,
      resetAt: resets.length === 0 ? null : h.at + Math.max(...resets),
    };
  }
  return best;
}

/** The view as the API shows it (`v` is the pool's fresh copy: it is completed in place, cheap at 100,000 keys). */
export function adminKeyView(v: CredentialView, pool?: Pool): AdminKeyView {
  const out = Object.assign(v, { rateLimit: pool === undefined ? null : rateLimitOf(pool, v.id) });
  if (v.proxy === null || !v.proxy.includes("@")) return out;
  try {
    const u = new URL(v.proxy);
    if (u.password !== "") u.password = "***";
    out.proxy = u.toString();
  } catch {
    out.proxy = "***";
  }
  return out;
}

/** A probe result with anything key-like in its texts masked (upstream messages may echo keys). */
export function cleanProbe(r: ProbeResult): ProbeResult {
  return { ...r, finding: scrubSecrets(r.finding), ...(r.error === undefined ? {} : { error: scrubSecrets(r.error) }) };
}
