/** The data model of the pool, shared by the core, the stores and the edges. */

export const CREDENTIAL_STATES = ["active", "cooling", "quarantined", "retired", "disabled"] as const;
/**
 * `active` serves; `cooling` serves again after `coolUntil` (and per-model
 * cooldowns); `quarantined` waits for the health checker; `retired` is dead
 * (definitive answers only); `disabled` was switched off by hand.
 */
export type CredentialState = (typeof CREDENTIAL_STATES)[number];

export type CredentialKind = "api" | "web";
/** `bearer`: `Authorization: Bearer KEY`; `api-key`: Azure OpenAI's `api-key: KEY` header. */
export type AuthStyle = "bearer" | "api-key";

export interface CredentialRecord {
  /** Stable id derived from the secret, so the same key is recognised when added twice. */
  id: string;
  kind: CredentialKind;
  /** The API key, or for `web` credentials the session token. Never printed whole. */
  secret: string;
  /** HMAC fingerprint of the secret, used in the audit log instead of the secret. */
  fingerprint: string;
  label: string | null;
  /** Per-credential upstream base URL (e.g. `https://relay.example/v1`); null = the pool's. */
  baseURL: string | null;
  authStyle: AuthStyle;
  organization: string | null;
  project: string | null;
  /** Egress proxy URL for this credential; null = the environment's (`HTTPS_PROXY`). */
  proxy: string | null;
  weight: number;
  /** Model allow-list; null = every model. */
  models: string[] | null;
  /** Models the upstream said this key lacks (`model_not_found`). */
  missingModels: string[];
  maxInFlight: number | null;
  budgetUsd: number | null;
  /** Limits the user knows of; keypool throttles locally to stay under them. */
  rpm: number | null;
  tpm: number | null;
  /** Backend-specific extras (web sessions: cfClearance, userAgent, accessToken, accessTokenExpires). */
  meta: Record<string, string>;
  state: CredentialState;
  reason: string | null;
  /** When the current state began (ms since epoch). */
  since: number;
  /** Key-wide cooldown end (ms since epoch); 0 when none. */
  coolUntil: number;
  /** Per-model cooldown ends: OpenAI's rate limits are per model. */
  modelCooldowns: Record<string, number>;
  /** How many times ambiguous failures ejected the key; cooldowns grow with it. */
  ejections: number;
  /** Rate limits in a row without a reset time from the upstream; cooldowns grow with it. */
  rateLimitStreak: number;
  /** USD metered from `usage` at model prices. */
  spentUsd: number;
  requests: number;
  failures: number;
  lastUsedAt: number | null;
  createdAt: number;
  /** Incremented by every write; orders changes between instances. */
  rev: number;
}

/** What a caller may set when adding a credential. */
export interface CredentialInput {
  secret: string;
  kind?: CredentialKind;
  label?: string | null;
  baseURL?: string | null;
  authStyle?: AuthStyle;
  organization?: string | null;
  project?: string | null;
  proxy?: string | null;
  weight?: number;
  models?: string[] | null;
  maxInFlight?: number | null;
  budgetUsd?: number | null;
  rpm?: number | null;
  tpm?: number | null;
  meta?: Record<string, string>;
}

/** The facts an upstream answer (or a probe) left behind, kept with a state change. */
export interface Evidence {
  status?: number;
  code?: string | null;
  type?: string | null;
  /** An excerpt of the upstream's message, secrets scrubbed. */
  message?: string;
  model?: string;
  until?: number;
  probe?: string;
}

export type AuditKind = "added" | "removed" | "state" | "updated";

export interface AuditEvent {
  /** Time-ordered unique id. */
  id: string;
  time: number;
  credentialId: string;
  fingerprint: string;
  kind: AuditKind;
  from: CredentialState | null;
  to: CredentialState | null;
  reason: string;
  evidence: Evidence | null;
  /** Which keypool process made the change. */
  instance: string;
}

/** One metered upstream call. `id` makes recording idempotent. */
/** Tokens of one request: from the upstream's `usage` (any answer shape), or counted locally. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface UsageRecord {
  id: string;
  time: number;
  credentialId: string;
  tokenId: string | null;
  model: string;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** True when counted locally because the upstream sent no `usage`. */
  estimated: boolean;
}

/** Publicly listable view of a credential: the secret masked. */
export type CredentialView = Omit<CredentialRecord, "secret" | "meta"> & { key: string };
