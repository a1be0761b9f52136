/**
 * The usage journal's log (`<journal>.log`, usage-journal.ts): a header line
 * naming its generation, then one JSON line per record; reading its lines and
 * folding them into the store, as a fold does for an orphan's log (a process
 * killed before its fold: a live journal folds the sums of what it appended).
 */
import { readSync } from "node:fs";
import type { UsageRecord } from "../../pool/types.ts";
import type { UsageSums } from "./usage-sums.ts";

/** Records per store transaction of a fold. */
export const FOLD_ROWS = 500;

export const logOf = (path: string): string => `${path}.log`;

export const HEADER = /^\{"gen":(\d+)\}$/;
export const header = (gen: number): string => `{"gen":${gen}}\n`;

/** Where a fold of a journal's log got to: the log's generation (it restarts after each emptying) and the byte after the last line folded. */
export interface FoldMark {
  journal: string;
  gen: number;
  offset: number;
}

/**
 * Writes records into the store's tables, in one transaction; throws if the store is busy. With
 * `mark`, the transaction records where the fold got to instead of each record's id: a fold is
 * then exactly-once by position, and usage_seen (two index entries per record) is left alone.
 */
export type FoldInto = (records: readonly UsageRecord[], mark?: FoldMark) => void;

/** Writes summed records into the store's tables with the fold's mark, in one transaction; throws if the store is busy. */
export type FoldSumsInto = (sums: UsageSums, mark: FoldMark) => void;

export interface Line {
  record: UsageRecord;
  /** The byte offset just past the line, from the start of the bytes it was parsed from. */
  end: number;
}

/** The records of a log's lines; a line that doesn't parse (torn by a power cut or a full disk) is skipped. */
export function parseLines(bytes: Buffer, from: number, to: number): Line[] {
  const out: Line[] = [];
  while (from < to) {
    let end = bytes.indexOf(0x0a, from);
    if (end === -1 || end > to) end = to;
    if (end > from) {
      try {
        out.push({ record: JSON.parse(bytes.toString("utf8", from, end)) as UsageRecord, end: end + 1 });
      } catch {
        // torn: the rest of the log is whole lines
      }
    }
    from = end + 1;
  }
  return out;
}

/**
 * The log's bytes from `from` to `to`, and how many of them are whole lines: a torn last one (no
 * line end yet) waits for the line end the next append starts with.
 */
export function readLog(fd: number, from: number, to: number): { bytes: Buffer; whole: number } {
  const bytes = Buffer.allocUnsafe(to - from);
  const read = readSync(fd, bytes, 0, bytes.length, from);
  return { bytes, whole: bytes.lastIndexOf(0x0a, read - 1) + 1 };
}

/**
 * Folds `lines` (parsed from bytes that start at `base` in the log) into the store, FOLD_ROWS per
 * transaction, each marked with its position when the log has a generation (null: a log of an
 * earlier version, folded by record id). `done` hears each committed batch's end offset and
 * size, so a batch the store refuses leaves the ones before it counted.
 */
export function foldLines(lines: readonly Line[], base: number, into: FoldInto, where: { journal: string; gen: number | null }, done: (end: number, count: number) => void): void {
  for (let i = 0; i < lines.length; i += FOLD_ROWS) {
    const batch = lines.slice(i, i + FOLD_ROWS);
    const end = base + batch.at(-1)!.end;
    into(
      batch.map((l) => l.record),
      where.gen === null ? undefined : { journal: where.journal, gen: where.gen, offset: end },
    );
    done(end, batch.length);
  }
}
