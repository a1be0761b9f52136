/**
 * The embedded default store: one SQLite file (Node's built-in `node:sqlite`),
 * shared safely by several processes on one machine (a gateway and the CLI).
 */
import { hostname } from "node:os";
import { plainBox, type SecretBox } from "../secret-box.ts";
import { StoreError } from "../store-error.ts";
import type { Store } from "../types.ts";
import { SqliteChangeFeed } from "./change-feed.ts";
import { Connection, DEFAULT_BUSY_TIMEOUT_MS, isMemoryPath } from "./connection.ts";
import { sqliteConversationRepo } from "./conversations.ts";
import { sqliteCredentialRepo } from "./credentials.ts";
import { sqliteEventRepo } from "./events.ts";
import { migrate } from "./migrate.ts";
import { sqliteCounterRepo, sqliteLeaseRepo, sqliteMetaRepo } from "./misc.ts";
import { sqliteTokenRepo } from "./tokens.ts";
import { foldProgress, pruneUsageSeen, sqliteUsageRepo, writeUsage, writeUsageSums } from "./usage.ts";
import { foldOrphans, ProcessJournal, type FoldInto, type FoldProgress, type FoldSumsInto } from "./usage-journal.ts";

export { LATEST_VERSION as SQLITE_SCHEMA_VERSION } from "./migrations.ts";

export interface SqliteStoreOptions {
  /** Seals secrets and credential meta at rest; default `plainBox` (plain text). */
  secretBox?: SecretBox;
  /** How often the change feed looks for other processes' writes while it has subscribers (ms). */
  pollMs?: number;
  /** Names this process in the change rows it writes. */
  instance?: string;
  /** How long a statement waits for another process's write before failing as locked (ms, default 5000). */
  busyTimeoutMs?: number;
}

const DEFAULT_POLL_MS = 50;
const HOUSEKEEPING_MS = 60_000;

/** Opens (creating if needed, migrating if older) the store at `path`; `:memory:` for a private one. */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<Store> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  if (!(pollMs > 0)) throw new StoreError(`sqlite store ${path}: pollMs must be a positive number of milliseconds`);
  const box = options.secretBox ?? plainBox;
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!(busyTimeoutMs >= 0)) throw new StoreError(`sqlite store ${path}: busyTimeoutMs must be zero or more milliseconds`);
  const conn = Connection.open(path, busyTimeoutMs);
  try {
    migrate(conn);
  } catch (err) {
    conn.close();
    throw err;
  }
  const feed = new SqliteChangeFeed(conn, { pollMs, instance: options.instance ?? `${hostname()}#${process.pid}` });
  // Usage goes through a journal of this process's own, except for a private in-memory store or a URI (no file beside it).
  const into: FoldInto = (records, mark) => writeUsage(conn, records, mark);
  const progress: FoldProgress = (name) => foldProgress(conn, name);
  const sumsInto: FoldSumsInto = (sums, mark) => writeUsageSums(conn, sums, mark);
  let journal: ProcessJournal | null = null;
  if (!isMemoryPath(path)) journal = new ProcessJournal(path, into, progress, sumsInto);

  const housekeeping = (): void => {
    // Journals that processes killed before their fold left behind (at open, then every round).
    if (journal !== null) foldOrphans(path, into, progress);
    try {
      conn.writeQuick("prune old change rows and usage ids", () => {
        const now = Date.now();
        feed.prune(now);
        pruneUsageSeen(conn, now);
      });
    } catch {
      // Busy or closed: the next round tries again.
    }
  };
  housekeeping();
  const timer = setInterval(housekeeping, HOUSEKEEPING_MS);
  timer.unref();

  return {
    kind: "sqlite",
    credentials: sqliteCredentialRepo(conn, box, feed),
    events: sqliteEventRepo(conn),
    usage: sqliteUsageRepo(conn, journal),
    leases: sqliteLeaseRepo(conn),
    counters: sqliteCounterRepo(conn),
    meta: sqliteMetaRepo(conn),
    changes: {
      subscribe: (listener) => feed.subscribe(listener),
    },
    tokens: sqliteTokenRepo(conn, journal),
    conversations: sqliteConversationRepo(conn),
    async ping() {
      conn.run("ping", () => conn.prepare("SELECT 1").get());
    },
    async close() {
      clearInterval(timer);
      feed.close();
      journal?.close();
      conn.close();
    },
  };
}
