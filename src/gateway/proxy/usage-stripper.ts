/**
 * Removes the usage-only event (`"choices":[]` with `"usage":{...}`) from a
 * streamed chat or completions answer, for clients that did not ask for it
 * (keypool asks the upstream for it to meter the stream).
 *
 * Works on whole SSE events: everything up to the last event boundary of the
 * bytes received is forwarded at once; only an incomplete trailing event is
 * held until its end arrives (a client could not use half an event anyway).
 * Nothing is parsed as JSON; chunks without the usage marker pass as they are.
 */

const USAGE = Buffer.from('"usage":{');
const EMPTY_CHOICES = Buffer.from('"choices":[]');
const LF = 0x0a;
const CR = 0x0d;

/** Index just past the last blank line (`\n\n` or `\n\r\n`) in `buf`, or -1. */
export function lastEventEnd(buf: Buffer): number {
  let i = buf.lastIndexOf(LF);
  while (i > 0) {
    if (buf[i - 1] === LF) return i + 1;
    if (buf[i - 1] === CR && i > 1 && buf[i - 2] === LF) return i + 1;
    i = buf.lastIndexOf(LF, i - 1);
  }
  return -1;
}

/** Index just past the first blank line at or after `from`, or `buf.length`. */
function nextEventEnd(buf: Buffer, from: number): number {
  let i = buf.indexOf(LF, from);
  while (i !== -1) {
    const n = buf[i + 1];
    if (n === LF) return i + 2;
    if (n === CR && buf[i + 2] === LF) return i + 3;
    i = buf.indexOf(LF, i + 1);
  }
  return buf.length;
}

/** Start of the event holding `pos`: just past the blank line before it, or 0. */
function eventStart(buf: Buffer, pos: number): number {
  let i = buf.lastIndexOf(LF, pos);
  while (i > 0) {
    if (buf[i - 1] === LF) return i + 1;
    if (buf[i - 1] === CR && i > 1 && buf[i - 2] === LF) return i + 1;
    i = buf.lastIndexOf(LF, i - 1);
  }
  return 0;
}

/**
 * Plain chunk in, chunks out (no stream machinery: the gateway writes what
 * it returns straight to the client's socket).
 */
export class UsageStripper {
  #pending: Buffer | null = null;

  /** The complete events of what arrived so far, usage-only ones left out (empty when none is complete). */
  push(chunk: Buffer): Buffer[] {
    const data = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    const cut = lastEventEnd(data);
    if (cut === -1) {
      this.#pending = data;
      return [];
    }
    this.#pending = cut === data.length ? null : data.subarray(cut);
    return strip(cut === data.length ? data : data.subarray(0, cut));
  }

  /** What is left at the end (a last event without its blank line). */
  end(): Buffer[] {
    const rest = this.#pending;
    this.#pending = null;
    return rest === null ? [] : strip(rest);
  }
}

/** Complete events, without the usage-only ones. */
function strip(buf: Buffer): Buffer[] {
  let hit = buf.indexOf(USAGE);
  if (hit === -1) return [buf];
  const out: Buffer[] = [];
  let from = 0;
  while (hit !== -1) {
    const start = eventStart(buf, hit);
    const end = nextEventEnd(buf, hit);
    if (buf.subarray(start, end).includes(EMPTY_CHOICES)) {
      if (start > from) out.push(buf.subarray(from, start));
      from = end;
    }
    hit = end < buf.length ? buf.indexOf(USAGE, end) : -1;
  }
  if (from < buf.length) out.push(buf.subarray(from));
  return out;
}
