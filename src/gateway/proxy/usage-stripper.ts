/**
 * Removes the usage-only event (`"choices":[]` with `"usage":{...}`) from a
 * streamed chat or completions answer, for clients that did not ask for it
 * (keypool asks the upstream for it to meter the stream).
 *
 * Works on whole SSE events: everything up to the last event boundary of the
 * bytes received is forwarded at once; only an incomplete trailing event is
 * held until its end arrives (a client could not use half an event anyway).
 * Nothing is parsed as JSON; chunks without an empty `choices` pass as they are.
 */

const USAGE = Buffer.from('"usage":{');
const CHOICES = Buffer.from('"choices":');
const EMPTY_LIST = Buffer.from("[]");
const LF = 0x0a;
const CR = 0x0d;

/**
 * Where the blank line whose second line terminator is at `i` ends, or -1
 * when there is none at `i`. Lines end with LF, CRLF or a lone CR (the SSE
 * grammar takes all three); a blank line is a terminator right after
 * another.
 */
function blankEnd(buf: Buffer, i: number): number {
  const b = buf[i];
  if (i === 0 || (b !== LF && b !== CR)) return -1;
  const p = buf[i - 1];
  if (p !== LF && p !== CR) return -1;
  if (b === LF && p === CR) return -1; // the LF of a CRLF
  return b === CR && buf[i + 1] === LF ? i + 2 : i + 1;
}

/**
 * Index just past the last blank line in `buf`, or -1. A CR as the very last
 * byte is no boundary yet: it may be the first half of a CRLF.
 */
export function lastEventEnd(buf: Buffer): number {
  let lf = buf.lastIndexOf(LF);
  let cr = buf.lastIndexOf(CR);
  while (lf > 0 || cr > 0) {
    const i = Math.max(lf, cr);
    const end = i === buf.length - 1 && buf[i] === CR ? -1 : blankEnd(buf, i);
    if (end !== -1) return end;
    if (i === lf) lf = i > 0 ? buf.lastIndexOf(LF, i - 1) : -1;
    else cr = i > 0 ? buf.lastIndexOf(CR, i - 1) : -1;
  }
  return -1;
}

/** Index just past the first blank line at or after `from`, or `buf.length`. */
function nextEventEnd(buf: Buffer, from: number): number {
  let lf = buf.indexOf(LF, from);
  let cr = buf.indexOf(CR, from);
  while (lf !== -1 || cr !== -1) {
    const i = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
    const end = blankEnd(buf, i);
    if (end !== -1) return end;
    if (i === lf) lf = buf.indexOf(LF, i + 1);
    else cr = buf.indexOf(CR, i + 1);
  }
  return buf.length;
}

/** Start of the event holding `pos`: just past the blank line before it, or 0. */
function eventStart(buf: Buffer, pos: number): number {
  return Math.max(0, lastEventEnd(buf.subarray(0, pos)));
}

/**
 * Plain chunk in, chunks out (no stream machinery: the gateway writes what
 * it returns straight to the client's socket).
 *
 * What follows a removed usage event (the stream's `data: [DONE]`, since the
 * usage event comes last) is held back until more arrives or the stream ends:
 * the gateway sends it with the end of the answer, once the usage is stored,
 * in one write with the chunked terminator instead of a write of its own.
 */
export class UsageStripper {
  #pending: Buffer | null = null;
  #held: Buffer[] = [];

  /** The complete events of what arrived so far, usage-only ones left out (empty when none is complete). */
  push(chunk: Buffer): Buffer[] {
    const data = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    const flushed = this.#held;
    this.#held = [];
    const cut = lastEventEnd(data);
    if (cut === -1) {
      this.#pending = data;
      return flushed;
    }
    this.#pending = cut === data.length ? null : data.subarray(cut);
    const { parts, after } = strip(cut === data.length ? data : data.subarray(0, cut));
    this.#held = parts.slice(after);
    const now = after === parts.length ? parts : parts.slice(0, after);
    return flushed.length === 0 ? now : [...flushed, ...now];
  }

  /** What is left at the end: anything held back, and a last event without its blank line. */
  end(): Buffer[] {
    const rest = this.#pending;
    const held = this.#held;
    this.#pending = null;
    this.#held = [];
    return rest === null ? held : [...held, ...strip(rest).parts];
  }
}

/**
 * Index of the next `"choices":[]` at or after `from`, or -1. Found by its `[]`: a search for the
 * whole marker (or for `"usage":{`) near-matches every event of a stream (`"choices":[{`,
 * `"usage":null`) and took ~2.3 µs on a 4 KB answer, against ~0.2.
 */
function emptyChoicesAt(buf: Buffer, from: number): number {
  const n = CHOICES.length;
  for (let i = buf.indexOf(EMPTY_LIST, from + n); i !== -1; i = buf.indexOf(EMPTY_LIST, i + 1)) {
    if (buf.compare(CHOICES, 0, n, i - n, i) === 0) return i - n;
  }
  return -1;
}

/** Complete events, without the usage-only ones; `parts[after]` on is what followed the last one removed. */
function strip(buf: Buffer): { parts: Buffer[]; after: number } {
  let hit = emptyChoicesAt(buf, 0);
  if (hit === -1) return { parts: [buf], after: 1 };
  const parts: Buffer[] = [];
  let after = -1;
  let from = 0;
  while (hit !== -1) {
    const start = eventStart(buf, hit);
    const end = nextEventEnd(buf, hit);
    if (buf.subarray(start, end).includes(USAGE)) {
      if (start > from) parts.push(buf.subarray(from, start));
      from = end;
      after = parts.length;
    }
    hit = end < buf.length ? emptyChoicesAt(buf, end) : -1;
  }
  if (from < buf.length) parts.push(buf.subarray(from));
  return { parts, after: after === -1 ? parts.length : after };
}
