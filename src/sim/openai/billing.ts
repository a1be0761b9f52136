import { fail, type ApiRequest, type ApiResult } from "./api-types.ts";
import { errorBody, invalidUrl } from "./errors.ts";

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function json(body: string): ApiResult {
  return { kind: "json", body, usage: null };
}

/** billing-unsupported, or any key with billing=MODE: what a relay without the billing routes answers, or null. */
function unsupported(r: ApiRequest): ApiResult | null {
  const b = r.state.behaviour;
  if (b.billingMode === null) return null;
  if (b.billingMode === "empty") return json("{}");
  if (b.billingMode === "session-key") {
    const route = r.path.replace(/^\/v1/, "");
    const message = `Your request to GET ${route} must be made with a session key (that is, it can only be made from the browser). You made it with the following key type: secret.`;
    return fail({ status: 403, body: errorBody(message, "invalid_request_error", null, null) });
  }
  return fail(invalidUrl("GET", r.path));
}

/** `GET /v1/dashboard/billing/subscription` (also without `/v1`). */
export function subscription(r: ApiRequest): ApiResult {
  const other = unsupported(r);
  if (other) return other;
  const s = r.state;
  const free = s.behaviour.name === "expired";
  const hard = round2(s.limitUsd);
  const soft = round2(s.limitUsd * 0.8);
  const system = Math.max(hard, 120);
  return json(
    JSON.stringify({
      object: "billing_subscription",
      has_payment_method: !free,
      canceled: false,
      canceled_at: null,
      delinquent: null,
      access_until: s.accessUntil,
      soft_limit: Math.round(soft * 1_000_000 / 60),
      hard_limit: Math.round(hard * 1_000_000 / 60),
      system_hard_limit: Math.round(system * 1_000_000 / 60),
      soft_limit_usd: soft,
      hard_limit_usd: hard,
      system_hard_limit_usd: system,
      plan: free ? { title: "Explore", id: "free" } : { title: "Pay-as-you-go", id: "payg" },
      primary: true,
      account_name: "keypool simulator",
      po_number: null,
      billing_email: null,
      tax_ids: null,
      billing_address: null,
      business_address: null,
    }),
  );
}

function badQuery(message: string, param: string): ApiResult {
  return fail({ status: 400, body: errorBody(message, "invalid_request_error", param, null) });
}

function parseDate(value: string | null | undefined, param: string): number | ApiResult {
  if (value === null || value === undefined || !DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    return badQuery(`Invalid query parameter '${param}': expected a date as YYYY-MM-DD, got ${value === null || value === undefined ? "nothing" : `'${value}'`}.`, param);
  }
  return Date.parse(`${value}T00:00:00Z`);
}

/** `GET /v1/dashboard/billing/usage?start_date&end_date`: `total_usage` and costs in cents. */
export function usage(r: ApiRequest): ApiResult {
  const other = unsupported(r);
  if (other) return other;
  const start = parseDate(r.query?.get("start_date"), "start_date");
  if (typeof start !== "number") return start;
  const end = parseDate(r.query?.get("end_date"), "end_date");
  if (typeof end !== "number") return end;
  if (end <= start) return badQuery("end_date must be after start_date.", "end_date");
  if (end - start > 100 * DAY_MS) return badQuery("Usage API query range must be less than 100 days", "end_date");
  const dailyCosts = [];
  let total = 0;
  for (let day = start; day < end; day += DAY_MS) {
    const items = r.state.daily.get(new Date(day).toISOString().slice(0, 10));
    const lineItems = [];
    for (const [name, usd] of items ?? []) {
      lineItems.push({ name, cost: round4(usd * 100) });
      total += usd * 100;
    }
    dailyCosts.push({ timestamp: day / 1000, line_items: lineItems });
  }
  return json(JSON.stringify({ object: "list", daily_costs: dailyCosts, total_usage: round4(total) }));
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
