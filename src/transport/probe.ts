/**
 * The I/O of a probe of an API key: `GET /models`, then the legacy billing
 * pair; for a quarantined key that neither can vouch for, a one-token
 * completion (an upstream answers `/models` for a key without quota, so that
 * alone would bring such a key back to fail again at every health round).
 */
import { classify, type Outcome } from "../pool/outcome.ts";
import type { Pool } from "../pool/pool.ts";
import { billingVerdict, type BillingVerdict, type HttpReply, type ProbeReport } from "../pool/health/verdict.ts";
import type { CredentialRecord } from "../pool/types.ts";
import { upstreamHeaders } from "./auth-headers.ts";
import type { Dispatchers } from "./dispatchers.ts";
import { headerGetter, parseMaybeJson, readBounded, send, TransportFailureError } from "./send.ts";
import { upstreamTarget } from "./upstream-url.ts";
import { listedModels, trialModel } from "../pool/health/trial-model.ts";
import { restsForBudget } from "../pool/plan.ts";

const DAY = 86_400_000;
const ymd = (t: number): string => new Date(t).toISOString().slice(0, 10);

export function createApiProbe(pool: Pool, dispatchers: Dispatchers, timeoutMs = 15_000) {
  /** Upstreams that answered billing without its fields: not asked again for a day. */
  const billingUnsupported = new Map<string, number>();

  /** One probe request with the credential's auth, bounded in time and in the size of what it reads. */
  const call = async (rec: CredentialRecord, path: string, json: object | null = null, limit = 1_048_576): Promise<HttpReply & { headers: ReturnType<typeof headerGetter> }> => {
    const answer = await send(upstreamTarget(pool.upstreamOf(rec), path), {
      method: json === null ? "GET" : "POST",
      headers: upstreamHeaders(json === null ? [["accept", "application/json"]] : [["accept", "application/json"], ["content-type", "application/json"]], rec),
      body: json === null ? null : Buffer.from(JSON.stringify(json)),
      signal: AbortSignal.timeout(timeoutMs),
      dispatcher: dispatchers.for(rec.proxy),
      headersTimeoutMs: timeoutMs,
      bodyTimeoutMs: timeoutMs,
    });
    return { status: answer.status, body: parseMaybeJson(await readBounded(answer.body, limit)), headers: headerGetter(answer.headers) };
  };

  /** The smallest request that spends quota: one token of a chat model the key serves. */
  const trial = async (rec: CredentialRecord, listed: readonly string[]): Promise<Outcome> => {
    try {
      const r = await call(rec, "/chat/completions", { model: trialModel(rec.models, listed), messages: [{ role: "user", content: "ping" }], max_tokens: 1 }, 65_536);
      return classify({ status: r.status, headers: r.headers, body: r.body });
    } catch (err) {
      if (err instanceof TransportFailureError) return classify({ transport: err.failure });
      throw err;
    }
  };

  /** A quarantined key comes back only on evidence; a spent budget is the pool's own verdict, no request changes it. */
  const needsTrial = (rec: CredentialRecord, billing: BillingVerdict | null): boolean =>
    rec.state === "quarantined" && !restsForBudget(rec) && (billing === null || billing.kind === "unsupported");

  /** The report, with the listing's models and, where it is called for, the trial's answer. */
  const complete = async (rec: CredentialRecord, report: ProbeReport, listed: readonly string[]): Promise<ProbeReport> => {
    const out = listed.length > 0 ? { ...report, listed } : report;
    return report.auth.kind === "success" && needsTrial(rec, report.billing) ? { ...out, trial: await trial(rec, listed) } : out;
  };

  return async function probe(rec: CredentialRecord): Promise<ProbeReport> {
    let models;
    try {
      models = await call(rec, "/models");
    } catch (err) {
      if (err instanceof TransportFailureError) return { auth: classify({ transport: err.failure }), billing: null };
      throw err;
    }
    const auth = classify({ status: models.status, headers: models.headers, body: models.body });
    if (auth.kind !== "success" && auth.kind !== "quota") return { auth, billing: null };
    const listed = listedModels(models.body);
    const upstream = pool.upstreamOf(rec);
    if ((billingUnsupported.get(upstream) ?? 0) > Date.now()) return complete(rec, { auth, billing: null }, listed);
    try {
      const sub = await call(rec, "/dashboard/billing/subscription");
      const now = Date.now();
      const usage = sub.status === 200 ? await call(rec, `/dashboard/billing/usage?start_date=${ymd(now - 90 * DAY)}&end_date=${ymd(now + DAY)}`) : null;
      const billing = billingVerdict(sub, usage, now);
      if (billing.kind === "unsupported") billingUnsupported.set(upstream, now + DAY);
      return complete(rec, { auth, billing }, listed);
    } catch (err) {
      if (err instanceof TransportFailureError) return complete(rec, { auth, billing: null }, listed);
      throw err;
    }
  };
}
