/** The in-process store: nothing survives the process; for tests, demos and one-off scripts. */
import { EventEmitter } from "node:events";
import type { AuditEvent, CredentialRecord, UsageRecord } from "../../pool/types.ts";
import type {
  Change,
  CredentialPatch,
  CredentialRepo,
  EventQuery,
  InsertItem,
  StatsDelta,
  Store,
  UpdateOptions,
  UsageQuery,
} from "../types.ts";
import { addToRollup, groupRollups, rollupKey, type HourlyRollup } from "../usage-rollup.ts";
import { StoreError } from "../store-error.ts";
import { memoryConversations } from "./conversations.ts";
import { memoryTokens } from "./tokens.ts";

/** Records are copied in and out, so callers and the store never share a mutable object. */
const clone = (r: CredentialRecord): CredentialRecord => ({
  ...r,
  models: r.models === null ? null : [...r.models],
  missingModels: [...r.missingModels],
  meta: { ...r.meta },
  modelCooldowns: { ...r.modelCooldowns },
});

export function openMemoryStore(): Store {
  const creds = new Map<string, CredentialRecord>();
  const events: AuditEvent[] = [];
  const rollups = new Map<string, HourlyRollup>();
  const seenUsage = new Set<string>();
  const leases = new Map<string, { owner: string; until: number }>();
  const counters = new Map<string, number>();
  const meta = new Map<string, string>();
  const feed = new EventEmitter();
  feed.setMaxListeners(0);
  let closed = false;
  const tokens = memoryTokens(() => guard());

  const announce = (change: Change): void => {
    // Asynchronous like the other stores' feeds, so listeners never run inside a write.
    queueMicrotask(() => feed.emit("change", change));
  };
  const guard = (): void => {
    if (closed) throw new StoreError("memory store is closed");
  };

  const credentials: CredentialRepo = {
    async list() {
      guard();
      return [...creds.values()].map(clone);
    },
    async get(id) {
      guard();
      const r = creds.get(id);
      return r === undefined ? null : clone(r);
    },
    async getMany(ids) {
      guard();
      const out: CredentialRecord[] = [];
      for (const id of ids) {
        const r = creds.get(id);
        if (r !== undefined) out.push(clone(r));
      }
      return out;
    },
    async insertMany(items: readonly InsertItem[]) {
      guard();
      const added: string[] = [];
      const duplicates: string[] = [];
      for (const { record, event } of items) {
        if (creds.has(record.id)) {
          duplicates.push(record.id);
          continue;
        }
        creds.set(record.id, clone(record));
        events.push(event);
        added.push(record.id);
      }
      if (added.length > 0) announce({ type: "upsert", ids: added, revs: added.map((id) => creds.get(id)!.rev) });
      return { added, duplicates };
    },
    async removeMany(items) {
      guard();
      const removed: string[] = [];
      for (const { id, event } of items) {
        if (!creds.delete(id)) continue;
        events.push(event);
        removed.push(id);
      }
      if (removed.length > 0) announce({ type: "remove", ids: removed });
      return removed;
    },
    async update(id: string, patch: CredentialPatch, options: UpdateOptions = {}) {
      guard();
      const current = creds.get(id);
      if (current === undefined) return null;
      if (options.from !== undefined && !options.from.includes(current.state)) return null;
      const next: CredentialRecord = clone({ ...current, ...patch, rev: current.rev + 1 });
      creds.set(id, next);
      if (options.event !== undefined) events.push(options.event);
      announce({ type: "upsert", ids: [id], revs: [next.rev] });
      return clone(next);
    },
    async bumpStats(deltas: readonly StatsDelta[]) {
      guard();
      for (const d of deltas) {
        const r = creds.get(d.id);
        if (r === undefined) continue;
        r.requests += d.requests;
        r.failures += d.failures;
        r.spentUsd += d.spentUsd;
        if (d.lastUsedAt !== null && (r.lastUsedAt === null || d.lastUsedAt > r.lastUsedAt)) r.lastUsedAt = d.lastUsedAt;
      }
    },
  };

  return {
    kind: "memory",
    credentials,
    events: {
      async append(list) {
        guard();
        events.push(...list);
      },
      async query(q: EventQuery = {}) {
        guard();
        const limit = q.limit ?? 100;
        const out: AuditEvent[] = [];
        for (let i = events.length - 1; i >= 0 && out.length < limit; i--) {
          const e = events[i]!;
          if (q.before !== undefined && e.id >= q.before) continue;
          if (q.credentialId !== undefined && e.credentialId !== q.credentialId) continue;
          if (q.kind !== undefined && e.kind !== q.kind) continue;
          out.push(e);
        }
        // Ids are time-ordered; appends from several writers may interleave.
        return out.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
      },
    },
    usage: {
      async record(records: readonly UsageRecord[]) {
        guard();
        for (const r of records) {
          if (seenUsage.has(r.id)) continue;
          seenUsage.add(r.id);
          const key = rollupKey(r);
          rollups.set(key, addToRollup(rollups.get(key), r));
          if (r.tokenId !== null) {
            const last = (await tokens.get(r.tokenId))?.lastUsedAt ?? 0;
            await tokens.addUsage(r.tokenId, r.promptTokens + r.completionTokens, Math.max(last, r.time));
          }
        }
      },
      async query(q: UsageQuery = {}) {
        guard();
        return groupRollups(rollups.values(), q);
      },
    },
    leases: {
      async acquire(name, owner, ttlMs) {
        guard();
        const now = Date.now();
        const held = leases.get(name);
        if (held !== undefined && held.owner !== owner && held.until > now) return false;
        leases.set(name, { owner, until: now + ttlMs });
        return true;
      },
      async release(name, owner) {
        if (leases.get(name)?.owner === owner) leases.delete(name);
      },
    },
    counters: {
      async incr(name, by) {
        guard();
        const v = (counters.get(name) ?? 0) + by;
        counters.set(name, v);
        return v;
      },
    },
    meta: {
      async get(key) {
        guard();
        return meta.get(key) ?? null;
      },
      async set(key, value) {
        guard();
        meta.set(key, value);
      },
    },
    tokens,
    conversations: memoryConversations(guard),
    changes: {
      subscribe(listener) {
        feed.on("change", listener);
        return () => feed.off("change", listener);
      },
    },
    async ping() {
      guard();
    },
    async close() {
      closed = true;
      feed.removeAllListeners();
    },
  };
}
