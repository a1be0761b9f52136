/**
 * Usage records land first in a journal of this process's own, beside the
 * store: a small SQLite file held with an exclusive lock while the process
 * lives (the lock tells a live journal from an orphan), and a log of JSON
 * lines next to it (`<journal>.log`) that records are appended to. An append
 * is one write(2) of a line per record (~1–2 µs; an insert into the SQLite
 * file took ~6, and ~20 on a cold cache at one connection); recording it in
 * the shared file is a ~40–60 µs transaction (locks, four B-tree pages to the
 * WAL), and the gateway's answers wait for it. The journal is folded into the
 * store's tables in batches: every FOLD_MS, before this process reads usage or
 * tokens, and at close. A fold of this process's own records writes their sums,
 * kept as they were appended (usage-sums.ts), and reads nothing back: ~40 µs
 * warm, where reading and parsing the log made it ~150 (and ~360 at one
 * connection, on the event loop every 25 ms). The log is read for an orphan's
 * records (a process killed before its fold).
 *
 * Crash safety is the store's WAL's (synchronous=NORMAL): a line is in the
 * kernel when `append` returns, so it survives `kill -9`, not a power cut. A
 * process killed with records not yet folded leaves its journal behind; the
 * next process to open the store folds it. A fold is exactly-once by position:
 * the log starts with its generation (`{"gen":N}`, a new one each time the log
 * is emptied), and each fold's transaction records the generation and the byte
 * it got to (table journal_folds), so a re-fold starts there and no record id
 * has to be kept (usage_seen's two index entries per record). A torn line (a
 * power cut, a full disk) is skipped; the append after one a full disk cut
 * short starts with a line naming its bytes, so a fold of the log skips what of
 * it made it in whole (its caller was told it failed and gives it again).
 * Logs without a generation and rows in the SQLite file's table come from
 * earlier versions: folded too, by record id.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, ftruncateSync, openSync, readdirSync, readSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { UsageRecord } from "../../pool/types.ts";
import { RecentSet } from "../../util/recent-set.ts";
import { UsageSums } from "./usage-sums.ts";
import { cutLine, HEADER, header, logOf, parseLines, type FoldInto, type FoldMark, type FoldSumsInto } from "./journal-log.ts";

export type { FoldInto, FoldMark, FoldSumsInto } from "./journal-log.ts";

/** How often pending records are folded into the store (ms): short, so each fold's transaction is short too. */
export const FOLD_MS = 25;
/**
 * After a fold the store refused (another process holding its write lock: each try waits up to
 * 100 ms with the event loop held), the timer's next try comes this much later.
 */
export const RETRY_MS = 1000;
/** Records per store transaction of a fold. */
const FOLD_ROWS = 500;
/**
 * The log is emptied (a new generation starts) once this much of it is folded: a truncation frees
 * page-cache pages, ~0.3 ms, too much for every fold.
 */
const TRUNCATE_BYTES = 1024 * 1024;

/** A position in a journal's log: its generation and a byte offset. */
export type FoldPosition = Pick<FoldMark, "gen" | "offset">;

/** Where a journal's log was folded up to, as the store recorded it (null: never, or a journal of an earlier version). */
export type FoldProgress = (journal: string) => FoldPosition | null;

/**
 * Ids appended lately, for the store's promise that a record given twice counts once (a caller's
 * retry comes within seconds; an append is acknowledged only once written, so the pool's own
 * writer never retries one that landed). ~1 MB of heap.
 */
const RECENT_IDS = 10_000;

const SUFFIX = ".journal";
const prefixOf = (storePath: string): string => `${basename(storePath)}-usage-`;

function removeFiles(path: string): void {
  for (const p of [logOf(path), path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) rmSync(p, { force: true });
}

/** Opens a journal file and takes its exclusive lock at once; null when another process holds it. */
function lockJournal(path: string): DatabaseSync | null {
  const db = new DatabaseSync(path, { timeout: 0 });
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("CREATE TABLE IF NOT EXISTS usage_journal (record TEXT NOT NULL)");
    // A write takes the exclusive lock, kept until close: a live owner makes this fail as busy.
    db.exec("BEGIN IMMEDIATE");
    db.exec("COMMIT");
    return db;
  } catch (err) {
    db.close();
    if (/locked|busy/i.test((err as Error).message)) return null;
    throw err;
  }
}

/**
 * Folds every journal of `storePath` whose process is gone (when the store opens, and at its
 * housekeeping); returns how many records. One the store can't take now (busy) or can't read
 * is left for a later try, never lost and never in the way of the store opening.
 */
export function foldOrphans(storePath: string, into: FoldInto, progress: FoldProgress = () => null): number {
  const dir = dirname(storePath);
  const prefix = prefixOf(storePath);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(prefix) && n.endsWith(SUFFIX));
  } catch {
    return 0;
  }
  let folded = 0;
  for (const name of names) {
    const path = join(dir, name);
    let db: DatabaseSync | null;
    try {
      db = lockJournal(path);
    } catch {
      continue; // unreadable (another program's file, a disk error): left alone
    }
    if (db === null) continue; // its process is alive
    const journal = new UsageJournal(path, db, into, progress);
    try {
      folded += journal.fold();
    } catch {
      // The store is busy: the journal stays for the next try.
    }
    journal.close(); // removes its files if it is empty now
  }
  return folded;
}

export class UsageJournal {
  readonly path: string;
  /** The name its fold marks are recorded under. */
  readonly name: string;
  readonly #db: DatabaseSync;
  readonly #into: FoldInto;
  readonly #progress: FoldProgress;
  readonly #read: StatementSync;
  readonly #delete: StatementSync;
  /** The log, opened for appending and reading (O_APPEND: after a truncation the next line is at its start). */
  readonly #fd: number;
  /** Bytes of the log already folded. */
  #folded = 0;
  /** Bytes in the log as this process appended them (its own journal only: nobody else appends to it). */
  #end = 0;
  /** Writes `#sums` (its own journal only: an orphan's records are known only from its log). */
  readonly #sumsInto: FoldSumsInto | null;
  /**
   * The records appended since the last fold, summed: a fold writes them without reading the log
   * back (null: an orphan's journal, folded from its log). An append cut short adds nothing: its
   * caller was told it failed and gives the records again, so the whole lines it left in the log
   * must not count too; the fold's mark, at the log's end, steps over them.
   */
  #sums: UsageSums | null = null;
  /** The log's generation, from its header line (null: not read yet, or a log without one, folded by record id). */
  #gen: number | null = null;
  #pending = 0;
  /** Rows an earlier version left in the SQLite file's table (only an orphan's can have any). */
  #tableRows: number;
  /** The last append was cut short (a full disk): the next starts on a new line. */
  #torn = false;
  /** The bytes of the appends cut short since the last whole one: the next names them in a cut line. */
  #cut: { from: number; to: number } | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(path: string, db: DatabaseSync, into: FoldInto, progress: FoldProgress = () => null, sumsInto: FoldSumsInto | null = null) {
    this.path = path;
    this.name = basename(path);
    this.#db = db;
    this.#into = into;
    this.#progress = progress;
    this.#sumsInto = sumsInto;
    this.#read = db.prepare(`SELECT rowid, record FROM usage_journal ORDER BY rowid LIMIT ${FOLD_ROWS}`);
    this.#delete = db.prepare("DELETE FROM usage_journal WHERE rowid <= ?");
    this.#fd = openSync(logOf(path), "a+");
    this.#tableRows = Number(db.prepare("SELECT count(*) AS n FROM usage_journal").get()?.n ?? 0);
    this.#pending = this.#tableRows;
  }

  /** A new journal for this process beside the store; with `sumsInto`, folded from its records' sums. */
  static create(storePath: string, into: FoldInto, progress?: FoldProgress, sumsInto: FoldSumsInto | null = null): UsageJournal {
    const path = join(dirname(storePath), `${prefixOf(storePath)}${process.pid}-${randomBytes(4).toString("hex")}${SUFFIX}`);
    const db = lockJournal(path);
    if (db === null) throw new Error(`usage journal ${path} is locked by another process`);
    try {
      const journal = new UsageJournal(path, db, into, progress, sumsInto);
      journal.#startGeneration(0);
      return journal;
    } catch (err) {
      db.close();
      removeFiles(path);
      throw err;
    }
  }

  /** Empties the log and opens generation `gen` with its header line: fold marks of the last one no longer apply. */
  #startGeneration(gen: number): void {
    ftruncateSync(this.#fd, 0);
    const line = header(gen);
    writeSync(this.#fd, line);
    this.#gen = gen;
    this.#folded = line.length;
    this.#end = line.length;
    this.#torn = false; // nothing of the last generation is left to close or to skip
    this.#cut = null;
    if (this.#sumsInto !== null) this.#sums = new UsageSums();
  }

  get pending(): number {
    return this.#pending;
  }

  /** Stores records in the journal (in the kernel when this returns); they reach the store's tables within FOLD_MS. */
  append(records: readonly UsageRecord[]): void {
    if (this.#closed) throw new Error(`usage journal ${this.path} is closed`);
    const start = this.#end;
    let text = this.#torn ? "\n" : "";
    if (this.#cut !== null) text += cutLine(this.#cut.from, this.#cut.to);
    for (const r of records) text += `${JSON.stringify(r)}\n`;
    const bytes = Buffer.byteLength(text);
    const written = writeSync(this.#fd, text);
    this.#end += written;
    if (written !== bytes) {
      this.#torn = true;
      // Its caller hears it failed and gives the records again; a fold of the log (an orphan's) must then skip what of it is whole.
      if (written > 0) this.#cut = { from: this.#cut?.from ?? start, to: start + written };
      throw new Error(`usage journal ${logOf(this.path)}: ${written} of ${bytes} bytes written (disk full?)`);
    }
    this.#torn = false;
    this.#cut = null;
    if (this.#sums !== null) for (const r of records) this.#sums.add(r);
    this.#pending += records.length;
    this.#timer ??= setTimeout(() => this.#foldLater(), FOLD_MS).unref();
  }

  #foldLater(): void {
    this.#timer = null;
    let delay = FOLD_MS;
    try {
      this.fold();
    } catch {
      // The store is busy (another process's write) or away: the records wait in the journal.
      delay = RETRY_MS;
    }
    if (this.#pending > 0 && !this.#closed) this.#timer = setTimeout(() => this.#foldLater(), delay).unref();
  }

  /** Moves every journaled record into the store's tables now; returns how many. Throws what the store throws. */
  fold(): number {
    let folded = 0;
    // Rows of a journal an earlier version wrote (none in a journal this version created: not queried every fold).
    while (this.#tableRows > 0) {
      const rows = this.#read.all();
      if (rows.length > 0) {
        this.#into(rows.map((row) => JSON.parse(row.record as string) as UsageRecord));
        this.#delete.run(rows.at(-1)!.rowid as number);
        folded += rows.length;
      }
      this.#tableRows = rows.length < FOLD_ROWS ? 0 : this.#tableRows - rows.length;
    }
    if (this.#sums !== null) return this.#foldSums(this.#sums);
    // The log's whole lines not folded yet; a torn last one (no line end) waits for the line end the next append starts with.
    const size = fstatSync(this.#fd).size;
    if (size > this.#folded) {
      const base = this.#folded;
      const bytes = Buffer.allocUnsafe(size - base);
      const read = readSync(this.#fd, bytes, 0, bytes.length, base);
      const whole = bytes.lastIndexOf(0x0a, read - 1) + 1;
      let from = 0;
      if (base === 0 && this.#gen === null) from = this.#readHeader(bytes, whole);
      const lines = parseLines(bytes, from, whole, base);
      for (let i = 0; i < lines.length; i += FOLD_ROWS) {
        const batch = lines.slice(i, i + FOLD_ROWS);
        const end = base + batch.at(-1)!.end;
        // With a generation, exactly-once by position; without (a log of an earlier version), by record id.
        this.#into(
          batch.map((l) => l.record),
          this.#gen === null ? undefined : { journal: this.name, gen: this.#gen, offset: end },
        );
        this.#folded = end;
        folded += batch.length;
      }
      this.#folded = base + whole;
    }
    if (this.#folded >= TRUNCATE_BYTES && this.#folded === size && this.#gen !== null) this.#startGeneration(this.#gen + 1);
    this.#pending = 0;
    return folded;
  }

  /** A fold of this process's own records from their sums: one transaction, the log not read. */
  #foldSums(sums: UsageSums): number {
    if (sums.records > 0) {
      this.#sumsInto!(sums, { journal: this.name, gen: this.#gen!, offset: this.#end });
      this.#folded = this.#end;
      this.#sums = new UsageSums();
    }
    if (this.#folded >= TRUNCATE_BYTES) this.#startGeneration(this.#gen! + 1);
    this.#pending = 0;
    return sums.records;
  }

  /**
   * Reads the log's header line (an orphan's, whose generation isn't known yet) and where its fold
   * got to; returns the offset in `bytes` to fold from.
   */
  #readHeader(bytes: Buffer, whole: number): number {
    const nl = bytes.indexOf(0x0a);
    const m = nl === -1 || nl >= whole ? null : HEADER.exec(bytes.toString("utf8", 0, nl));
    if (m === null) return 0; // no header: folded by record id
    this.#gen = Number(m[1]);
    const done = this.#progress(this.name);
    return done !== null && done.gen === this.#gen && done.offset > nl + 1 ? Math.min(done.offset, whole) : nl + 1;
  }

  /** Folds what is left (if the store takes it), closes, and removes the journal's files once it is empty. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    let empty = false;
    try {
      this.fold();
      empty = true; // a fold that returns leaves nothing behind
    } catch {
      // Left for the next process to open the store.
    }
    closeSync(this.#fd);
    this.#db.close();
    if (empty) removeFiles(this.path);
  }
}

/** This process's journal, created at its first record: a CLI run that records no usage leaves no file. */
export class ProcessJournal {
  readonly #storePath: string;
  readonly #into: FoldInto;
  readonly #progress: FoldProgress | undefined;
  readonly #sumsInto: FoldSumsInto | null;
  #journal: UsageJournal | null = null;
  /** The journal could not be created (a read-only directory): records go to the tables directly. */
  #direct = false;
  /** Ids appended lately, since folds no longer look ids up. */
  readonly #recent = new RecentSet(RECENT_IDS);

  /** `into` folds records (and takes them when no journal can be made); `sumsInto`, if given, folds this process's own records from their sums. */
  constructor(storePath: string, into: FoldInto, progress?: FoldProgress, sumsInto: FoldSumsInto | null = null) {
    this.#storePath = storePath;
    this.#into = into;
    this.#progress = progress;
    this.#sumsInto = sumsInto;
  }

  append(records: readonly UsageRecord[]): void {
    if (this.#journal === null && !this.#direct) {
      try {
        this.#journal = UsageJournal.create(this.#storePath, this.#into, this.#progress, this.#sumsInto);
      } catch {
        this.#direct = true;
      }
    }
    if (this.#journal === null) {
      this.#into(records);
      return;
    }
    // A record given again (a caller's retry) counts once, as the store promises.
    const fresh = records.filter((r) => !this.#recent.has(r.id));
    if (fresh.length === 0) return;
    const unique = fresh.length === 1 ? fresh : firstOfEachId(fresh);
    this.#journal.append(unique);
    for (const r of unique) this.#recent.add(r.id);
  }

  /** Before this process reads usage or tokens: its own records are in the tables (stale only if the store is busy). */
  foldForRead(): void {
    if (this.#journal === null || this.#journal.pending === 0) return;
    try {
      this.#journal.fold();
    } catch {
      // Busy: the read sees the tables without the last few milliseconds' records.
    }
  }

  close(): void {
    this.#journal?.close();
    this.#journal = null;
  }
}

/** The records with their ids' first occurrence only. */
function firstOfEachId(records: readonly UsageRecord[]): UsageRecord[] {
  const ids = new Set<string>();
  const out: UsageRecord[] = [];
  for (const r of records) {
    if (ids.has(r.id)) continue;
    ids.add(r.id);
    out.push(r);
  }
  return out;
}
