/**
 * The store interface. The pool's logic never knows which implementation it
 * runs on; every implementation passes test/store/conformance.ts.
 */
import type { AuditEvent, AuditKind, CredentialRecord, CredentialState, TokenUsage, UsageRecord } from "../pool/types.ts";

/** Fields of a credential that may change after it was added. */
export type CredentialPatch = Partial<Omit<CredentialRecord, "id" | "secret" | "fingerprint" | "createdAt" | "rev">> & {
  /** Web sessions rotate their token; the id stays the one derived from the first token. */
  secret?: string;
};

export interface InsertItem {
  record: CredentialRecord;
  /** Written only if the record was new. */
  event: AuditEvent;
}

export interface InsertResult {
  added: string[];
  duplicates: string[];
}

export interface UpdateOptions {
  /** Compare-and-set: apply only while the stored state is one of these. */
  from?: readonly CredentialState[];
  /** Written in the same atomic step as the update. */
  event?: AuditEvent;
  /**
   * The caller queues the write for a retry when the store fails it (the pool's own state
   * changes): a store busy with another process's write fails it soon (SQLite: after 100 ms)
   * rather than holding the event loop for the whole busy timeout.
   */
  quick?: boolean;
}

/** Counters bumped by traffic; written behind, in batches. */
export interface StatsDelta {
  id: string;
  requests: number;
  failures: number;
  spentUsd: number;
  lastUsedAt: number | null;
}

export interface CredentialRepo {
  /** Every credential; used to build an instance's local copy. */
  list(): Promise<CredentialRecord[]>;
  get(id: string): Promise<CredentialRecord | null>;
  getMany(ids: readonly string[]): Promise<CredentialRecord[]>;
  /** Idempotent by id: a record whose id exists is reported as a duplicate and left as it is. */
  insertMany(items: readonly InsertItem[]): Promise<InsertResult>;
  /** Removes and writes each item's event; returns the ids that existed. */
  removeMany(items: readonly { id: string; event: AuditEvent }[]): Promise<string[]>;
  /**
   * Atomic: checks `from`, applies the patch, increments `rev`, appends the
   * event, and announces the change. Null when the id is gone or `from` failed.
   */
  update(id: string, patch: CredentialPatch, options?: UpdateOptions): Promise<CredentialRecord | null>;
  /**
   * Adds to the traffic counters. A batch given again under the same `batchId` (a retry after an
   * error whose writes may have landed: a timeout, a batch cut half-way) counts once.
   */
  bumpStats(deltas: readonly StatsDelta[], batchId?: string): Promise<void>;
}

export interface EventQuery {
  credentialId?: string;
  kind?: AuditKind;
  /** Only events older than this event id (paging, newest first). */
  before?: string;
  limit?: number;
}

export interface EventRepo {
  append(events: readonly AuditEvent[]): Promise<void>;
  /** Newest first. */
  query(query?: EventQuery): Promise<AuditEvent[]>;
}

export type UsageGroup = "credential" | "token" | "model" | "day" | "hour";

export interface UsageQuery {
  /** Inclusive start, ms since epoch. */
  from?: number;
  /** Exclusive end, ms since epoch. */
  to?: number;
  credentialId?: string;
  tokenId?: string;
  model?: string;
  groupBy?: readonly UsageGroup[];
}

export interface UsageRow {
  credentialId?: string;
  tokenId?: string | null;
  model?: string;
  /** Start of the day or hour bucket (ms since epoch, UTC) when grouped by time. */
  bucket?: number;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface UsageRepo {
  /**
   * Idempotent by record id: a record seen before is not counted again (the
   * SQLite store, which journals each process's records, remembers the last
   * 10,000 ids a process gave it; Redis every id for `usageDedupTtlSec`, two
   * days by default; memory every id). A new record with a `tokenId` also adds its tokens to that client
   * token's `usedTokens` (and its time to `lastUsedAt`) in the same step, so a
   * token's count is exactly its records', however often they are replayed.
   */
  record(records: readonly UsageRecord[]): Promise<void>;
  query(query?: UsageQuery): Promise<UsageRow[]>;
}

export interface LeaseRepo {
  /** Takes or renews the lease; false when another live owner holds it. */
  acquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
}

export interface CounterRepo {
  /**
   * Adds `by` and returns the new value. `quick`: the caller copes with a failure (the
   * round-robin sequence counts on locally), so a store busy with another process's write
   * fails it soon (SQLite: after 100 ms) rather than holding the event loop.
   */
  incr(name: string, by: number, options?: { quick?: boolean }): Promise<number>;
}

export interface MetaRepo {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
}

/**
 * `upsert` and `remove` name the credentials that changed; `resync` says the
 * feed may have missed changes (a reconnect) and listeners should reload all.
 */
export interface Change {
  type: "upsert" | "remove" | "resync";
  ids: string[];
  /** The `rev` each id reached, when the store knows it: lets an instance skip the echo of its own writes. */
  revs?: number[];
}

export interface ChangeFeed {
  /** Changes made by any instance (this one included) on this store. */
  subscribe(listener: (change: Change) => void): () => void;
}

/** A gateway client token. Only its hash is stored; the token itself is shown once. */
export interface ClientToken {
  id: string;
  name: string;
  /** sha256 of the token, hex. */
  hash: string;
  /** Masked form for listings (`kp-…abcd`). */
  hint: string;
  /** Models the token may use; null = all. */
  models: string[] | null;
  /** Tokens (prompt + completion) the client may spend; null = unlimited. */
  quotaTokens: number | null;
  usedTokens: number;
  rpm: number | null;
  expiresAt: number | null;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** How long a shared rate window counts (TokenRepo.shareRate): a minute, as rpm does. */
export const RATE_WINDOW_MS = 60_000;

export interface TokenRepo {
  create(token: ClientToken): Promise<void>;
  /** Every token, revoked ones included, oldest first. */
  list(): Promise<ClientToken[]>;
  get(id: string): Promise<ClientToken | null>;
  findByHash(hash: string): Promise<ClientToken | null>;
  /** Marks it revoked; null when it doesn't exist. */
  revoke(id: string, at: number): Promise<ClientToken | null>;
  /** Atomically adds to `usedTokens` and sets `lastUsedAt`; returns the new total (null when gone). */
  addUsage(id: string, tokens: number, at: number): Promise<number | null>;
  /**
   * Shares one instance's recent requests of a token (its rate window as flat
   * `[second, count, ...]` pairs, seconds since the epoch) and returns the
   * windows the other instances shared in the last minute, so that a token's
   * rpm holds across every gateway on the store.
   */
  shareRate(id: string, instance: string, window: readonly number[], now: number): Promise<number[][]>;
}

export type ChatRole = "system" | "user" | "assistant";

export interface ChatMessage {
  id: string;
  conversationId: string;
  parentMessageId: string | null;
  role: ChatRole;
  text: string;
  model: string | null;
  credentialId: string | null;
  usage: { promptTokens: number; completionTokens: number; estimated: boolean } | null;
  /** The backend's own id for it (web sessions), when it has one. */
  remoteId: string | null;
  createdAt: number;
}

export interface Conversation {
  id: string;
  clientId: string | null;
  backend: string;
  title: string | null;
  /** The credential that holds it (web conversations stay on the account that created them). */
  credentialId: string | null;
  /** The backend's own conversation id (web sessions). */
  remoteId: string | null;
  /** The newest message: the parent of the next one. */
  lastMessageId: string | null;
  messageCount: number;
  promptTokens: number;
  completionTokens: number;
  createdAt: number;
  updatedAt: number;
}

export type ConversationPatch = Partial<Omit<Conversation, "id" | "createdAt">>;

/** What an append sets; its counters are added to, never set. */
export type AppendPatch = Omit<ConversationPatch, "messageCount" | "promptTokens" | "completionTokens">;

export interface ConversationQuery {
  clientId?: string;
  limit?: number;
}

export interface ConversationRepo {
  create(conversation: Conversation): Promise<void>;
  get(id: string): Promise<Conversation | null>;
  /** Most recently updated first. */
  list(query?: ConversationQuery): Promise<Conversation[]>;
  update(id: string, patch: ConversationPatch): Promise<Conversation | null>;
  /**
   * Atomic: stores the messages, applies the patch (new head, title) and adds to the
   * counters (the messages, and `tokens` to the token totals) together, so a question is
   * never stored without its reply, and two processes appending at once both count. Null
   * when the conversation is gone.
   */
  append(conversationId: string, messages: readonly ChatMessage[], patch: AppendPatch, tokens: TokenUsage): Promise<Conversation | null>;
  message(id: string): Promise<ChatMessage | null>;
  /** The chain of parents ending at `messageId`, oldest first, at most `limit` long (the newest kept). */
  chain(messageId: string, limit: number): Promise<ChatMessage[]>;
  /** A client's current conversation. */
  current(clientId: string): Promise<string | null>;
  setCurrent(clientId: string, conversationId: string): Promise<void>;
}

export type StoreKind = "memory" | "sqlite" | "redis";

export interface Store {
  readonly kind: StoreKind;
  readonly credentials: CredentialRepo;
  readonly events: EventRepo;
  readonly usage: UsageRepo;
  readonly leases: LeaseRepo;
  readonly counters: CounterRepo;
  readonly meta: MetaRepo;
  readonly changes: ChangeFeed;
  readonly tokens: TokenRepo;
  readonly conversations: ConversationRepo;
  /** Resolves when the store answers; rejects with StoreError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
