import { z } from "zod";

/**
 * One behaviour parameter: how it reads from the flag form (`rpm=3`,
 * `models=a|b`) and how its value is validated (flag form and object form
 * share the schema, so both give the same error for the same mistake).
 */
export interface ParamDef {
  readonly help: string;
  readonly schema: z.ZodType;
  readonly fromString: (raw: string) => unknown;
}

const num = (raw: string): unknown => (raw.trim() === "" ? Number.NaN : Number(raw));
const list = (raw: string): unknown => raw.split("|").map((s) => s.trim());
const str = (raw: string): unknown => raw;

const int = (min: number) =>
  z.number({ error: "must be a number" }).int("must be an integer").min(min, `must be at least ${min}`);
const amount = z.number({ error: "must be a number" }).min(0, "must be at least 0").finite("must be finite");
const nonEmpty = z.string({ error: "must be a string" }).min(1, "must not be empty");

/** `request` (default: before any byte), `headers`, or `chunks:N` (after N body chunks). */
export const AFTER_PATTERN = /^(?:request|headers|chunks:\d{1,6})$/;

export const PARAMS = {
  rpm: { help: "requests per minute, per model", schema: int(1), fromString: num },
  tpm: { help: "tokens per minute, per model", schema: int(1), fromString: num },
  window_ms: { help: "length of the rate-limit window in ms (default 60000)", schema: int(1), fromString: num },
  rate: {
    help: "share of requests that fail, 0..1 (deterministic spread)",
    schema: z.number({ error: "must be a number" }).min(0, "must be at least 0").max(1, "must be at most 1"),
    fromString: num,
  },
  status: {
    help: "failure statuses to cycle through, e.g. 500|503",
    schema: z
      .array(z.union([z.literal(500), z.literal(502), z.literal(503)], { error: "must be 500, 502 or 503" }))
      .min(1, "must name at least one status"),
    fromString: (raw: string): unknown => raw.split("|").map(num),
  },
  ms: { help: "latency in ms before the answer", schema: int(0), fromString: num },
  chunk_ms: { help: "pause in ms between stream chunks (default ms/10)", schema: int(0), fromString: num },
  requests: { help: "successful requests before the quota runs out", schema: int(1), fromString: num },
  tokens: { help: "tokens before the quota runs out", schema: int(1), fromString: num },
  after: {
    help: "when: request (default), headers, or chunks:N",
    schema: z.string({ error: "must be a string" }).regex(AFTER_PATTERN, "must be request, headers or chunks:N"),
    fromString: str,
  },
  mode: {
    help: "404 (default), empty (200 without the fields) or session-key (403 as OpenAI answers secret keys)",
    schema: z.enum(["404", "empty", "session-key"], { error: "must be 404, empty or session-key" }),
    fromString: str,
  },
  usage: {
    help: "streams: sent (default) or ignored (stream_options.include_usage is ignored, as some relays do)",
    schema: z.enum(["sent", "ignored"], { error: "must be sent or ignored" }),
    fromString: str,
  },
  billing: {
    help: "the billing routes answer as on a relay without them: 404, empty or session-key",
    schema: z.enum(["404", "empty", "session-key"], { error: "must be 404, empty or session-key" }),
    fromString: str,
  },
  body: {
    help: "json (default: {\"error\":{\"message\":\"Unauthorized\"}}) or text",
    schema: z.enum(["json", "text"], { error: "must be json or text" }),
    fromString: str,
  },
  models: {
    help: "model allow-list, e.g. gpt-4o-mini|gpt-4o (others get 404 model_not_found)",
    schema: z.array(nonEmpty).min(1, "must name at least one model"),
    fromString: list,
  },
  limit_usd: { help: "billing hard limit in USD", schema: amount, fromString: num },
  used_usd: { help: "billing usage already spent in USD", schema: amount, fromString: num },
  clearance: { help: "the cf_clearance cookie value that passes", schema: nonEmpty, fromString: str },
  ua: { help: "the User-Agent that must come with it (percent-encode commas)", schema: nonEmpty, fromString: str },
} as const satisfies Record<string, ParamDef>;

export type ParamName = keyof typeof PARAMS;
