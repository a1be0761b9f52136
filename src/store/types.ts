/**
 * The store interface. The pool's logic never knows which implementation it
 * runs on; every implementation passes test/store/conformance.ts.
 */
import type { AuditEvent, AuditKind, CredentialRecord, CredentialState, UsageRecord } from "../pool/types.ts";

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
  bumpStats(deltas: readonly StatsDelta[]): Promise<void>;
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
  /** Idempotent by record id: a record seen before is not counted again. */
  record(records: readonly UsageRecord[]): Promise<void>;
  query(query?: UsageQuery): Promise<UsageRow[]>;
}

export interface LeaseRepo {
  /** Takes or renews the lease; false when another live owner holds it. */
  acquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
}

export interface CounterRepo {
  /** Adds `by` and returns the new value. */
  incr(name: string, by: number): Promise<number>;
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
}

export interface ChangeFeed {
  /** Changes made by any instance (this one included) on this store. */
  subscribe(listener: (change: Change) => void): () => void;
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
  /** Resolves when the store answers; rejects with StoreError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
