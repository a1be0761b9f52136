import { formatSpec, toSpec, type BehaviourTable, type SpecObject } from "./parse.ts";
import { parseCut, type Cut } from "./cut.ts";

export const KEY_BEHAVIOURS = {
  ok: { help: "answers normally (generous rate limits, still counted)", params: [] },
  invalid: { help: "401 invalid_api_key", params: [] },
  deactivated: { help: "401 account_deactivated", params: [] },
  "reseller-401": { help: "a bare 401 without an error code, as some resellers send", params: ["body"] },
  quota: { help: "429 insufficient_quota; billing shows usage >= limit (top up to recover)", params: [] },
  "legacy-quota": { help: "429 with type insufficient_quota and code null, as older answers did", params: [] },
  exhausts: { help: "ok for N requests or N tokens, then quota (default requests=5)", params: ["requests", "tokens"] },
  "rate-limited": { help: "429 rate_limit_exceeded past rpm/tpm (defaults rpm=3, tpm=40000)", params: [] },
  flaky: { help: "a share of requests answer 500/502/503 (default rate=0.5)", params: ["rate", "status"] },
  slow: { help: "answers late, and streams slowly (default ms=1000)", params: ["ms", "chunk_ms"] },
  hang: { help: "accepts and never answers", params: ["after"] },
  reset: { help: "drops the connection, also mid-stream", params: ["after"] },
  expired: { help: "billing access_until in the past; API calls get 429 insufficient_quota", params: [] },
  "billing-unsupported": { help: "API works; the billing routes do not", params: ["mode"] },
} as const;

export type KeyBehaviourName = keyof typeof KEY_BEHAVIOURS;

export const KEY_TABLE: BehaviourTable = {
  kind: "key",
  names: KEY_BEHAVIOURS,
  common: ["models", "limit_usd", "used_usd", "rpm", "tpm", "window_ms", "billing", "usage"],
};

/** A key's behaviour in object form, as a scenario file or `PUT /_sim/keys/:key` gives it. */
export interface BehaviourSpec {
  behaviour: KeyBehaviourName;
  rpm?: number;
  tpm?: number;
  window_ms?: number;
  rate?: number;
  status?: Array<500 | 502 | 503>;
  ms?: number;
  chunk_ms?: number;
  requests?: number;
  tokens?: number;
  after?: string;
  mode?: "404" | "empty" | "session-key";
  billing?: "404" | "empty" | "session-key";
  usage?: "sent" | "ignored";
  body?: "json" | "text";
  models?: string[];
  limit_usd?: number;
  used_usd?: number;
}

/** A validated behaviour with every default filled in. */
export interface KeyBehaviour {
  readonly name: KeyBehaviourName;
  /** The flag form, for listings. */
  readonly text: string;
  readonly spec: BehaviourSpec;
  readonly rpm: number;
  readonly tpm: number;
  readonly windowMs: number;
  readonly rate: number;
  readonly statuses: readonly number[];
  readonly ms: number;
  readonly chunkMs: number;
  readonly requests: number | null;
  readonly tokens: number | null;
  readonly cut: Cut;
  /** How the billing routes fail, or null when they answer. */
  readonly billingMode: "404" | "empty" | "session-key" | null;
  /** False: streams never carry the usage chunk, asked or not. */
  readonly streamUsage: boolean;
  readonly bareBody: "json" | "text";
  readonly models: ReadonlySet<string> | null;
  readonly limitUsd: number;
  readonly usedUsd: number;
}

/** Limits of keys that are not rate-limited: high enough never to slow a benchmark. */
export const GENEROUS_RPM = 10_000_000;
export const GENEROUS_TPM = 10_000_000_000;

function defaultLimit(name: KeyBehaviourName): number {
  return name === "ok" || name === "rate-limited" || name === "flaky" || name === "slow" ? 120 : 18;
}

export function toKeyBehaviour(value: string | BehaviourSpec | SpecObject, where?: string): KeyBehaviour {
  const spec = toSpec(KEY_TABLE, value, where) as unknown as BehaviourSpec;
  const name = spec.behaviour;
  const limitUsd = spec.limit_usd ?? defaultLimit(name);
  const quotaLike = name === "quota" || name === "legacy-quota";
  const ms = spec.ms ?? (name === "slow" ? 1000 : 0);
  const exhaustsDefault = name === "exhausts" && spec.requests === undefined && spec.tokens === undefined;
  return {
    name,
    text: formatSpec(spec as unknown as SpecObject),
    spec,
    rpm: spec.rpm ?? (name === "rate-limited" ? 3 : GENEROUS_RPM),
    tpm: spec.tpm ?? (name === "rate-limited" ? 40_000 : GENEROUS_TPM),
    windowMs: spec.window_ms ?? 60_000,
    rate: spec.rate ?? (name === "flaky" ? 0.5 : 0),
    statuses: spec.status ?? [500, 502, 503],
    ms,
    chunkMs: spec.chunk_ms ?? Math.round(ms / 10),
    requests: exhaustsDefault ? 5 : (spec.requests ?? null),
    tokens: spec.tokens ?? null,
    cut: parseCut(spec.after),
    billingMode: name === "billing-unsupported" ? (spec.mode ?? spec.billing ?? "404") : (spec.billing ?? null),
    streamUsage: spec.usage !== "ignored",
    bareBody: spec.body ?? "json",
    models: spec.models ? new Set(spec.models) : null,
    limitUsd,
    usedUsd: spec.used_usd ?? (quotaLike ? limitUsd : name === "expired" ? Math.min(0.42, limitUsd) : 0),
  };
}
