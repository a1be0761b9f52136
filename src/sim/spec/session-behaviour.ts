import { formatSpec, toSpec, type BehaviourTable, type SpecObject } from "./parse.ts";
import { parseCut, type Cut } from "./cut.ts";

export const SESSION_BEHAVIOURS = {
  ok: { help: "a working ChatGPT session", params: [] },
  rotate: { help: "every /api/auth/session call rotates the session token (Set-Cookie); the old one stops working", params: [] },
  expired: { help: "/api/auth/session answers {\"error\":\"RefreshAccessTokenError\"}", params: [] },
  "short-lived": {
    help: "access tokens expire after ms (default 1000), then 401 token_expired",
    params: ["ms"],
    paramHelp: { ms: "access-token lifetime in ms" },
  },
  "cf-required": {
    help: "403 Cloudflare challenge unless cookie cf_clearance and the User-Agent match",
    params: ["clearance", "ua"],
  },
  slow: { help: "answers late, and streams slowly (default ms=1000)", params: ["ms", "chunk_ms"] },
  reset: { help: "POST /backend-api/conversation drops the connection", params: ["after"] },
} as const;

export type SessionBehaviourName = keyof typeof SESSION_BEHAVIOURS;

export const SESSION_TABLE: BehaviourTable = { kind: "session", names: SESSION_BEHAVIOURS, common: [] };

/** A session's behaviour in object form. */
export interface SessionSpec {
  behaviour: SessionBehaviourName;
  ms?: number;
  chunk_ms?: number;
  clearance?: string;
  ua?: string;
  after?: string;
}

export interface SessionBehaviour {
  readonly name: SessionBehaviourName;
  readonly text: string;
  readonly spec: SessionSpec;
  /** Latency before answers (slow). */
  readonly ms: number;
  readonly chunkMs: number;
  /** Access-token lifetime. */
  readonly tokenTtlMs: number;
  readonly clearance: string;
  readonly ua: string;
  readonly cut: Cut;
}

export const DEFAULT_CLEARANCE = "sim-clearance";
export const DEFAULT_UA = "Mozilla/5.0 (X11; Linux x86_64) keypool-sim";
const TEN_DAYS = 10 * 24 * 3600 * 1000;

export function toSessionBehaviour(value: string | SessionSpec | SpecObject, where?: string): SessionBehaviour {
  const spec = toSpec(SESSION_TABLE, value, where) as unknown as SessionSpec;
  const name = spec.behaviour;
  const ms = name === "slow" ? (spec.ms ?? 1000) : 0;
  return {
    name,
    text: formatSpec(spec as unknown as SpecObject),
    spec,
    ms,
    chunkMs: spec.chunk_ms ?? Math.round(ms / 10),
    tokenTtlMs: name === "short-lived" ? (spec.ms ?? 1000) : TEN_DAYS,
    clearance: spec.clearance ?? DEFAULT_CLEARANCE,
    ua: spec.ua ?? DEFAULT_UA,
    cut: parseCut(spec.after),
  };
}
