/**
 * The change feed between processes sharing one file. Every credential write
 * appends a row to `changes` in its own transaction; every open store with
 * subscribers reads the rows after its cursor every `pollMs` (and right after
 * its own writes), so a listener sees changes from every process, this one
 * included, in commit order.
 */
import type { Change, ChangeFeed } from "../types.ts";
import type { Connection } from "./connection.ts";

/** Rows older than this are pruned; a store that fell further behind gets a `resync`. */
export const CHANGE_RETENTION_MS = 10 * 60_000;
const READ_BATCH = 500;

type Listener = (change: Change) => void;

export interface ChangeFeedOptions {
  pollMs: number;
  /** Written with each change row, to tell which process made it. */
  instance: string;
}

export class SqliteChangeFeed implements ChangeFeed {
  readonly #conn: Connection;
  readonly #pollMs: number;
  readonly #instance: string;
  readonly #listeners = new Set<Listener>();
  #cursor = 0;
  #timer: NodeJS.Timeout | undefined;
  #soon = false;

  constructor(conn: Connection, options: ChangeFeedOptions) {
    this.#conn = conn;
    this.#pollMs = options.pollMs;
    this.#instance = options.instance;
  }

  /** Call inside the write transaction that made the change. */
  record(type: "upsert" | "remove", ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.#conn
      .prepare("INSERT INTO changes (time, type, ids, instance) VALUES (?, ?, ?, ?)")
      .run(Date.now(), type, JSON.stringify(ids), this.#instance);
    // Listeners hear of this store's own writes without waiting for the next tick;
    // the timer fires after the transaction committed.
    if (this.#listeners.size > 0 && !this.#soon) {
      this.#soon = true;
      this.#schedule(0);
    }
  }

  subscribe(listener: Listener): () => void {
    if (this.#conn.closed) return () => {};
    if (this.#listeners.size === 0) this.#start();
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** Deletes change rows every store has had ample time to read. Inside a write transaction. */
  prune(now: number): void {
    // seq and time grow together: delete up to the first recent row, without an index on time.
    this.#conn
      .prepare(
        `DELETE FROM changes WHERE seq < coalesce(
           (SELECT seq FROM changes WHERE time >= ? ORDER BY seq LIMIT 1),
           (SELECT max(seq) + 1 FROM changes))`,
      )
      .run(now - CHANGE_RETENTION_MS);
  }

  close(): void {
    this.#stop();
    this.#listeners.clear();
  }

  #start(): void {
    // Subscribers hear of changes from now on. sqlite_sequence remembers the last seq
    // even when every row was pruned, so the next row is never mistaken for a gap.
    this.#cursor = this.#conn.run("start change feed", () => {
      const seq = this.#conn.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").get()?.seq;
      return typeof seq === "number" ? seq : 0;
    });
    this.#schedule(this.#pollMs);
  }

  #stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#soon = false;
  }

  #schedule(delay: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), delay);
    this.#timer.unref();
  }

  #tick(): void {
    this.#timer = undefined;
    this.#soon = false;
    if (this.#conn.closed || this.#listeners.size === 0) return;
    try {
      this.#poll();
    } catch {
      // Locked or briefly unreadable: the cursor did not move, the next tick reads the same rows.
    }
    if (this.#listeners.size > 0 && this.#timer === undefined) this.#schedule(this.#pollMs);
  }

  #poll(): void {
    const select = "SELECT seq, type, ids FROM changes WHERE seq > ? ORDER BY seq LIMIT ?";
    for (;;) {
      const rows = this.#conn.run("read change feed", () => this.#conn.prepare(select).all(this.#cursor, READ_BATCH));
      for (const row of rows) {
        const seq = Number(row.seq);
        // Rows commit in seq order and are only ever deleted by pruning: a gap means
        // this store fell behind the retention window and must reload everything.
        if (seq !== this.#cursor + 1) this.#emit({ type: "resync", ids: [] });
        this.#cursor = seq;
        const type = row.type === "remove" ? "remove" : "upsert";
        this.#emit({ type, ids: JSON.parse(String(row.ids)) as string[] });
        if (this.#listeners.size === 0) return;
      }
      if (rows.length < READ_BATCH) return;
    }
  }

  #emit(change: Change): void {
    // A snapshot: a listener may unsubscribe (or subscribe another) while it runs.
    for (const listener of Array.from(this.#listeners)) {
      try {
        listener(change);
      } catch (err) {
        // A listener's bug surfaces as it would from an EventEmitter, without stopping the feed.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
