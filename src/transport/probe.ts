/** The I/O of a probe of an API key: `GET /models`, then the legacy billing pair. */
import { classify } from "../pool/outcome.ts";
import type { Pool } from "../pool/pool.ts";
import { billingVerdict, type HttpReply, type ProbeReport } from "../pool/health/verdict.ts";
import type { CredentialRecord } from "../pool/types.ts";
import { upstreamHeaders } from "./auth-headers.ts";
import type { Dispatchers } from "./dispatchers.ts";
import { headerGetter, parseMaybeJson, readBounded, send, TransportFailureError } from "./send.ts";
import { joinUpstream } from "./upstream-url.ts";

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
    const upstream = pool.upstreamOf(rec);
    if ((billingUnsupported.get(upstream) ?? 0) > Date.now()) return { auth, billing: null };
    try {
      const sub = await get(rec, "/dashboard/billing/subscription");
      const now = Date.now();
      const usage = sub.status === 200 ? await get(rec, `/dashboard/billing/usage?start_date=${ymd(now - 90 * DAY)}&end_date=${ymd(now + DAY)}`) : null;
      const billing = billingVerdict(sub, usage, now);
      if (billing.kind === "unsupported") billingUnsupported.set(upstream, now + DAY);
      return { auth, billing };
    } catch (err) {
      if (err instanceof TransportFailureError) return { auth, billing: null };
      throw err;
    }
  };
}
