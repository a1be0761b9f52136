/**
 * One `node:sqlite` connection with the settings keypool relies on, a cache of
 * prepared statements, transactions, and every failure turned into a StoreError.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { StoreError } from "../store-error.ts";
import { isLockedError, toStoreError } from "./errors.ts";

/** How long a statement waits for another process's transaction before giving up. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** The longest a request-path write waits for another process's lock. */
export const QUICK_BUSY_MS = 100;
/** Between two tries of a patient write: the event loop runs meanwhile. */
const RETRY_MS = 15;
/** Rows per transaction in bulk operations: big enough to be fast, small enough not to stall a gateway. */
export const CHUNK_ROWS = 2000;
const STATEMENT_CACHE_LIMIT = 256;

/** A private in-memory database: no other connection, no other process, can lock it. */
const isPrivate = (path: string): boolean => path === ":memory:" || path === "";
export const isMemoryPath = (path: string): boolean => isPrivate(path) || path.startsWith("file:");

/** Lets timers and sockets run between the chunks of a bulk operation. */
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Slices of `items`, with the event loop running between one slice and the next. */
export async function* inChunks<T>(items: readonly T[], size: number = CHUNK_ROWS): AsyncGenerator<readonly T[]> {
  for (let i = 0; i < items.length; i += size) {
    if (i > 0) await yieldToLoop();
    yield items.slice(i, i + size);
  }
}

/** One DatabaseSync and its prepared statements. */
interface Handle {
  db: DatabaseSync;
  statements: Map<string, StatementSync>;
}

/**
 * Page cache of the main connection: SQLite's default 2 MiB. It was 16 MiB, for the indexes of
 * 100,000 keys, but the pool keeps its credentials in memory and reads them from the store once;
 * under load the bigger cache only filled with pages read once and held ~9 MB more of the
 * gateway's memory. Pages it doesn't keep come from the OS's page cache.
 */
const MAIN_CACHE_KIB = 2048;
/**
 * Page cache of the quick connection. It only appends usage and updates a few rows, so a big
 * cache would only hold pages it wrote once.
 */
const QUICK_CACHE_KIB = 1024;

function openHandle(path: string, timeout: number, cacheKiB: number): Handle {
  const context = { path, action: "open", busyTimeoutMs: timeout };
  let db: DatabaseSync;
  try {
    // `timeout` is SQLite's busy_timeout: a gateway and the CLI can share one file, each
    // waiting (synchronously, so keep transactions short) for the other's write to end.
    db = new DatabaseSync(path, { timeout, enableForeignKeyConstraints: true });
  } catch (err) {
    throw toStoreError(err, context);
  }
  try {
    // WAL: readers never block the writer and a commit is one append to the -wal file.
    const mode = db.prepare("PRAGMA journal_mode = WAL").get()?.journal_mode;
    if (mode !== "wal" && mode !== "memory") throw new StoreError(`sqlite store ${path}: cannot switch to WAL mode (journal_mode is ${String(mode)})`);
    // NORMAL in WAL mode syncs at checkpoints, not at every commit. A committed
    // transaction is in the -wal file (the OS page cache) when COMMIT returns, so it
    // survives `kill -9` of this process; only an OS crash or power loss can lose the
    // last commits, and the database stays consistent even then.
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec(`PRAGMA cache_size = -${cacheKiB}`);
  } catch (err) {
    db.close();
    throw toStoreError(err, context);
  }
  return { db, statements: new Map() };
}

export class Connection {
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly #main: Handle;
  /**
   * A second connection to the same file with a short busy timeout, for request-path writes
   * (opened on first use; none for a private in-memory database, which nobody else locks, nor
   * for a `file:` URI, whose second connection may not be the same database).
   * Its own connection rather than a `PRAGMA busy_timeout` switch around each transaction:
   * two statements less per write on the hottest path.
   */
  #quick: Handle | null = null;
  /** The handle statements are prepared on: the quick one while a quick write runs. */
  #current: Handle;
  #closed = false;
  /** Whether the last transaction got past its BEGIN (a write that failed there changed nothing and may be tried again). */
  #begun = false;

  private constructor(path: string, main: Handle, busyTimeoutMs: number) {
    this.path = path;
    this.#main = main;
    this.#current = main;
    this.busyTimeoutMs = busyTimeoutMs;
  }

  static open(path: string, busyTimeoutMs: number = DEFAULT_BUSY_TIMEOUT_MS): Connection {
    if (!isMemoryPath(path)) {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (err) {
        throw new StoreError(`sqlite store ${path}: cannot create its directory ${dirname(path)}: ${(err as Error).message}`, err);
      }
    }
    return new Connection(path, openHandle(path, busyTimeoutMs, MAIN_CACHE_KIB), busyTimeoutMs);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A cached prepared statement; only call inside `run`/`write`/`read`. */
  prepare(sql: string): StatementSync {
    const h = this.#current;
    let statement = h.statements.get(sql);
    if (statement === undefined) {
      // Dynamic SQL (patch shapes, query filters) is bounded in practice; this bounds it anyway.
      if (h.statements.size >= STATEMENT_CACHE_LIMIT) h.statements.clear();
      statement = h.db.prepare(sql);
      h.statements.set(sql, statement);
    }
    return statement;
  }

  exec(sql: string): void {
    this.#current.db.exec(sql);
  }

  /** Runs `fn` on the open database; whatever it throws becomes a StoreError. */
  run<T>(action: string, fn: () => T, busyTimeoutMs = this.busyTimeoutMs): T {
    if (this.#closed) throw new StoreError(`sqlite store ${this.path} is closed (${action})`);
    try {
      return fn();
    } catch (err) {
      throw toStoreError(err, { path: this.path, action, busyTimeoutMs });
    }
  }

  /**
   * `fn` in a write transaction. BEGIN IMMEDIATE takes the write lock first (waiting up to
   * the busy timeout), so a read never has to be upgraded into a write that could deadlock.
   */
  write<T>(action: string, fn: () => T): T {
    return this.run(action, () => this.#transaction("BEGIN IMMEDIATE", fn));
  }

  /**
   * A write from the request path (usage records, stats): waits at most QUICK_BUSY_MS for
   * another process's write lock instead of the full busy timeout, because the wait blocks the
   * event loop and every request with it. A busy store fails it with a StoreError, and its
   * caller keeps the write for a retry (the pool queues usage and stats while a store is away).
   */
  writeQuick<T>(action: string, fn: () => T): T {
    if (this.#neverWaitsLong) return this.write(action, fn);
    if (this.path.startsWith("file:")) return this.#writeWithTimeout(action, fn, QUICK_BUSY_MS); // a second connection to a URI may not be the same database
    return this.run(
      action,
      () => {
        this.#quick ??= openHandle(this.path, QUICK_BUSY_MS, QUICK_CACHE_KIB);
        this.#current = this.#quick;
        try {
          return this.#transaction("BEGIN IMMEDIATE", fn);
        } finally {
          this.#current = this.#main;
        }
      },
      QUICK_BUSY_MS,
    );
  }

  /** A write on the main connection with its busy timeout lowered to `timeoutMs` for the one transaction. */
  #writeWithTimeout<T>(action: string, fn: () => T, timeoutMs: number): T {
    const db = this.#main.db;
    return this.run(
      action,
      () => {
        db.exec(`PRAGMA busy_timeout = ${timeoutMs}`);
        try {
          return this.#transaction("BEGIN IMMEDIATE", fn);
        } finally {
          db.exec(`PRAGMA busy_timeout = ${this.busyTimeoutMs}`);
        }
      },
      timeoutMs,
    );
  }

  /**
   * A write that waits for another process's lock without holding the event loop: each try takes
   * the lock only if it is free at once (busy timeout 0), and the loop runs between tries, until
   * the busy timeout has passed. For admin and CLI writes, whose callers wait for them (the
   * request path's quick writes give up instead).
   */
  async writePatiently<T>(action: string, fn: () => T): Promise<T> {
    if (this.#neverWaitsLong) return this.write(action, fn);
    const started = Date.now();
    for (;;) {
      this.#begun = false;
      try {
        return this.#writeWithTimeout(action, fn, 0);
      } catch (err) {
        // Only a write that failed at its BEGIN is tried again: nothing of `fn` ran.
        if (this.#begun || !isLockedError(err)) throw err;
        if (Date.now() - started >= this.busyTimeoutMs) throw toStoreError((err as { cause?: unknown }).cause ?? err, { path: this.path, action, busyTimeoutMs: this.busyTimeoutMs });
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  /** A plain write can't hold the event loop long: its busy timeout is short, or nobody else can lock the database. */
  get #neverWaitsLong(): boolean {
    return this.busyTimeoutMs <= QUICK_BUSY_MS || isPrivate(this.path);
  }

  /** `fn` in a read transaction: one snapshot, and one lock instead of one per statement. */
  read<T>(action: string, fn: () => T): T {
    return this.run(action, () => this.#transaction("BEGIN", fn));
  }

  #transaction<T>(begin: string, fn: () => T): T {
    const db = this.#current.db;
    this.#begun = false;
    db.exec(begin);
    this.#begun = true;
    try {
      const out = fn();
      db.exec("COMMIT");
      return out;
    } catch (err) {
      try {
        if (db.isTransaction) db.exec("ROLLBACK");
      } catch {
        // The original error says more than a failed rollback.
      }
      throw err;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of this.#quick === null ? [this.#main] : [this.#main, this.#quick]) {
      h.statements.clear();
      h.db.close();
    }
  }
}
