/**
 * The health checker's probe of a web session: `/api/auth/session` answers
 * with an access token (alive: a quarantined session comes back) or not
 * (RefreshAccessTokenError, not signed in: retired). A rotated token is saved.
 */
import type { ProbeFn } from "../../../pool/health/checker.ts";
import type { WebAccounts } from "./web-accounts.ts";

export function createWebProbe(accounts: WebAccounts, timeoutMs = 15_000): ProbeFn {
  return (rec) =>
    accounts.queue.run(rec.id, async () => {
      const answer = await accounts.refresh(rec.id, AbortSignal.timeout(timeoutMs));
      return { auth: answer.outcome, billing: null };
    });
}
