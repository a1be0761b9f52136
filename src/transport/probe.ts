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
import { joinUpstream } from "./upstream-url.ts";
import { listedModels, trialModel } from "../pool/health/trial-model.ts";

const DAY = 86_400_000;
const ymd = (t: number): string => new Date(t).toISOString().slice(0, 10);

export function createApiProbe(pool: Pool, dispatchers: Dispatchers, timeoutMs = 15_000) {
  /** Upstreams that answered billing without its fields: not asked again for a day. */
  const billingUnsupported = new Map<string, number>();

  const get = async (rec: CredentialRecord, path: string): Promise<HttpReply & { headers: ReturnType<typeof headerGetter> }> => {
    const answer = await send(joinUpstream(pool.upstreamOf(rec), path), {
      method: "GET",
      headers: upstreamHeaders([["accept", "application/json"]], rec),
      body: null,
      signal: AbortSignal.timeout(timeoutMs),
      dispatcher: dispatchers.for(rec.proxy),
      headersTimeoutMs: timeoutMs,
      bodyTimeoutMs: timeoutMs,
    });
    return { status: answer.status, body: parseMaybeJson(await readBounded(answer.body, 1_048_576)), headers: headerGetter(answer.headers) };
  };

  /** The smallest request that spends quota: one token of a chat model the key serves. */
  const trial = async (rec: CredentialRecord, listed: readonly string[]): Promise<Outcome> => {
    const model = trialModel(rec.models, listed);
    const body = Buffer.from(JSON.stringify({ model, messages: [{ role: "user", content: "ping" }], max_tokens: 1 }));
    try {
      const answer = await send(joinUpstream(pool.upstreamOf(rec), "/chat/completions"), {
        method: "POST",
        headers: upstreamHeaders([["content-type", "application/json"], ["accept", "application/json"]], rec),
        body,
        signal: AbortSignal.timeout(timeoutMs),
        dispatcher: dispatchers.for(rec.proxy),
        headersTimeoutMs: timeoutMs,
        bodyTimeoutMs: timeoutMs,
      });
      const raw = await readBounded(answer.body);
      return classify({ status: answer.status, headers: headerGetter(answer.headers), body: parseMaybeJson(raw) });
    } catch (err) {
      if (err instanceof TransportFailureError) return classify({ transport: err.failure });
      throw err;
    }
  };

  /** A quarantined key comes back only on evidence; a spent budget is the pool's own verdict, no request changes it. */
  const needsTrial = (rec: CredentialRecord, billing: BillingVerdict | null): boolean =>
    rec.state === "quarantined" && !(rec.reason ?? "").startsWith("budget") && (billing === null || billing.kind === "unsupported");

  /** The report, with the listing's models and, where it is called for, the trial's answer. */
  const complete = async (rec: CredentialRecord, report: ProbeReport, listed: readonly string[]): Promise<ProbeReport> => {
    const out = listed.length > 0 ? { ...report, listed } : report;
    return report.auth.kind === "success" && needsTrial(rec, report.billing) ? { ...out, trial: await trial(rec, listed) } : out;
  };

  return async function probe(rec: CredentialRecord): Promise<ProbeReport> {
    let models;
    try {
      models = await get(rec, "/models");
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
      const sub = await get(rec, "/dashboard/billing/subscription");
      const now = Date.now();
      const usage = sub.status === 200 ? await get(rec, `/dashboard/billing/usage?start_date=${ymd(now - 90 * DAY)}&end_date=${ymd(now + DAY)}`) : null;
      const billing = billingVerdict(sub, usage, now);
      if (billing.kind === "unsupported") billingUnsupported.set(upstream, now + DAY);
      return complete(rec, { auth, billing }, listed);
    } catch (err) {
      if (err instanceof TransportFailureError) return complete(rec, { auth, billing: null }, listed);
      throw err;
    }
  };
}
