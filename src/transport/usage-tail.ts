/**
 * Finds the token usage in the last bytes of a response body. OpenAI puts
 * `usage` at the end: last in a JSON answer, in the final events of a stream
 * (`include_usage`), inside `response.completed` for the Responses API. So the
 * body is never parsed whole: only its tail is kept, and at the end the last
 * `"usage":{...}` object in it is read. Inside a JSON string the quotes would
 * be escaped, so the pattern only ever matches a real key.
 */
import { usageOf, type TokenUsage } from "./usage.ts";

const KEEP = 16 * 1024;
const KEY = Buffer.from('"usage":');

export class UsageTail {
  readonly #chunks: Buffer[] = [];
  #size = 0;

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    // Drop whole chunks that fall out of the kept tail.
    while (this.#chunks.length > 1 && this.#size - this.#chunks[0]!.length >= KEEP) this.#size -= this.#chunks.shift()!.length;
  }

  usage(): TokenUsage | null {
    if (this.#size === 0) return null;
    const tail = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
    let at = tail.length;
    // The last usage that is an object (streams also carry `"usage":null` on every chunk).
    while ((at = tail.lastIndexOf(KEY, at - 1)) >= 0) {
      let i = at + KEY.length;
      while (i < tail.length && (tail[i] === 0x20 || tail[i] === 0x0a || tail[i] === 0x0d || tail[i] === 0x09)) i++;
      if (tail[i] !== 0x7b) continue; // `{`
      const end = objectEnd(tail, i);
      if (end < 0) continue;
      try {
        return usageOf({ usage: JSON.parse(tail.toString("utf8", i, end)) as unknown });
      } catch {
        continue;
      }
    }
    return null;
  }
}

/** Index after the `}` closing the object that opens at `start`, or -1. Skips strings. */
function objectEnd(buf: Buffer, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return i + 1;
  }
  return -1;
}
