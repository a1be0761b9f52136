/**
 * The usage journal's log (`<journal>.log`, usage-journal.ts): a header line
 * naming its generation, then one JSON line per record, and the types a fold
 * writes with. Its lines are read back for an orphan's fold (a process killed
 * before its fold: a live journal folds the sums of what it appended).
 */
import type { UsageRecord } from "../../pool/types.ts";
import type { UsageSums } from "./usage-sums.ts";

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

/**
 * The line an append starts with after one a full disk cut short (`from` to `to`, byte offsets in
 * the log): its caller was told it failed and gives its records again, so the lines of it that
 * made it in whole must not count as well.
 */
export const cutLine = (from: number, to: number): string => `{"cut":[${from},${to}]}\n`;

/**
 * The records of a log's lines (`bytes` starting at byte `base` of the log); a line that doesn't
 * parse (torn by a power cut or a full disk) is skipped, and so are the lines of an append a
 * cut line names.
 */
export function parseLines(bytes: Buffer, from: number, to: number, base = 0): Line[] {
  const out: Line[] = [];
  const starts: number[] = [];
  let cuts: number[][] | null = null;
  while (from < to) {
    let end = bytes.indexOf(0x0a, from);
    if (end === -1 || end > to) end = to;
    if (end > from) {
      try {
        const value = JSON.parse(bytes.toString("utf8", from, end)) as UsageRecord | { cut: number[] };
        if ("cut" in value) (cuts ??= []).push(value.cut);
        else {
          out.push({ record: value, end: end + 1 });
          starts.push(base + from);
        }
      } catch {
        // torn: the rest of the log is whole lines
      }
    }
    from = end + 1;
  }
  if (cuts === null) return out;
  return out.filter((_, i) => !cuts.some(([a = 0, b = 0]) => starts[i]! >= a && starts[i]! < b));
}
