/**
 * Keeps an instance's local copy in step with the store's change feed: other
 * instances' (and the CLI's) adds, removals and state changes arrive here.
 * Records are applied only when newer (`rev`) than the local copy.
 */
import type { Store } from "../store/types.ts";
import type { CredentialRecord } from "./types.ts";

export interface SyncTarget {
  current(id: string): CredentialRecord | undefined;
  ids(): Iterable<string>;
  apply(record: CredentialRecord): void;
  drop(id: string): void;
  error(err: unknown): void;
}

export function attachSync(store: Store, target: SyncTarget): () => void {
  let chain = Promise.resolve();
  const run = (job: () => Promise<void>): void => {
    // One change at a time, in order; a failing job doesn't stop the next.
    chain = chain.then(job).catch((err: unknown) => target.error(err));
  };
  const applyNewer = (records: CredentialRecord[]): void => {
    for (const r of records) {
      const local = target.current(r.id);
      if (local === undefined || r.rev > local.rev) target.apply(r);
    }
  };
  return store.changes.subscribe((change) => {
    if (change.type === "remove") {
      for (const id of change.ids) target.drop(id);
      return;
    }
    if (change.type === "upsert") {
      // Skip what this instance already holds at that rev (the echo of its own writes).
      const ids = change.revs === undefined ? change.ids : change.ids.filter((id, i) => (target.current(id)?.rev ?? 0) < change.revs![i]!);
      if (ids.length > 0) run(async () => applyNewer(await store.credentials.getMany(ids)));
      return;
    }
    run(async () => {
      const all = await store.credentials.list();
      const seen = new Set(all.map((r) => r.id));
      for (const id of Array.from(target.ids())) if (!seen.has(id)) target.drop(id);
      applyNewer(all);
    });
  });
}
