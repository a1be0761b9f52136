/**
 * What a streamed answer said, kept until it ends in case it carries no
 * usage and must be counted locally. An event stream is kept as bytes only
 * up to RAW_CAP: past it, the complete events are read down to their answer
 * text and the bytes let go (the JSON around each delta is ~90 % of a
 * stream), so a long stream holds ~64 KB plus its text instead of every
 * byte. A short stream (most of them, and every one that carries usage) is
 * never parsed. Other bodies can't be read in pieces: their first RAW_CAP
 * bytes are kept. Past TEXT_CAP characters of text (or one event longer than
 * EVENT_CAP), or RAW_CAP bytes of a non-stream, only the length is counted
 * and the estimate is scaled by the share kept.
 */
import { answerTextOf } from "./estimate.ts";
import type { ProxyRoute } from "./routes.ts";
import { lastEventEnd } from "./usage-stripper.ts";

const RAW_CAP = 64 * 1024;
const TEXT_CAP = 256 * 1024;
/** The longest single event held while waiting for its end; past it the stream is no longer kept. */
const EVENT_CAP = 1024 * 1024;

export class AnswerKeeper {
  readonly #route: ProxyRoute;
  readonly #sse: boolean;
  #chunks: Buffer[] = [];
  #kept = 0;
  /** Held bytes past which a stream's complete events are read (doubles while one event is longer). */
  #limit = RAW_CAP;
  /** Answer text of the events already read (streams only). */
  #text = "";
  /** A stream's text reached its cap (or one event its own): the rest is only counted. */
  #full = false;
  /** Bytes neither kept nor read. */
  #dropped = 0;
  #total = 0;

  constructor(route: ProxyRoute, sse: boolean) {
    this.#route = route;
    this.#sse = sse;
  }

  push(chunk: Buffer): void {
    this.#total += chunk.length;
    if (this.#kept + chunk.length <= this.#limit && !this.#full) {
      this.#chunks.push(chunk);
      this.#kept += chunk.length;
      // Inside a long event: read it as soon as a piece brings its end.
      if (this.#limit > RAW_CAP && lastEventEnd(chunk) > 0) this.#compact();
      return;
    }
    if (this.#sse && !this.#full) {
      this.#chunks.push(chunk);
      this.#kept += chunk.length;
      this.#compact();
      return;
    }
    // A non-stream keeps its first RAW_CAP bytes; a full stream keeps nothing more.
    const room = this.#sse ? 0 : Math.max(0, RAW_CAP - this.#kept);
    if (room > 0) {
      this.#chunks.push(chunk.subarray(0, room));
      this.#kept += room;
    }
    this.#dropped += chunk.length - room;
  }

  /** Reads the complete events held as bytes into text, keeping only an unfinished last event's bytes. */
  #compact(): void {
    const all = Buffer.concat(this.#chunks, this.#kept);
    const cut = lastEventEnd(all);
    if (cut <= 0) {
      // One event longer than the limit so far: held whole until it ends, within EVENT_CAP.
      if (all.length > EVENT_CAP) {
        this.#dropped += all.length;
        this.#chunks = [];
        this.#kept = 0;
        this.#full = true;
        return;
      }
      this.#chunks = [all];
      this.#limit = all.length * 2; // amortised: not a concat per chunk of a long event
      return;
    }
    this.#text += answerTextOf(this.#route, all.subarray(0, cut), true);
    // A copy, so that the concatenated buffer can go.
    const rest = Buffer.from(all.subarray(cut));
    this.#chunks = rest.length === 0 ? [] : [rest];
    this.#kept = rest.length;
    this.#limit = RAW_CAP;
    if (this.#text.length >= TEXT_CAP) this.#full = true;
  }

  /** The answer's text as far as it was kept. */
  text(): string {
    const bytes = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#kept);
    return this.#text + answerTextOf(this.#route, bytes, this.#sse);
  }

  /** Bytes held now (the memory a stream costs while it runs). */
  held(): number {
    return this.#kept;
  }

  /** The share of the answer's bytes whose text was kept (1 when nothing was dropped). */
  share(): number {
    return this.#total === 0 ? 1 : (this.#total - this.#dropped) / this.#total;
  }
}
