/**
 * An incremental HTTP/1.1 response parser: bytes in as the socket reads them,
 * the head, the body's bytes (chunked framing removed) and its end out. Pure:
 * no socket, no timer, so every framing case is tested on byte strings.
 *
 * Framing as RFC 9112 §6.3 has it: no body for HEAD, 1xx, 204 and 304; a
 * final `chunked` transfer coding; else Content-Length; else until the
 * connection closes. Interim 1xx answers are skipped; 101 is refused (the
 * client never asks to upgrade). Everything a server can get wrong (a bad
 * status line, conflicting lengths, bad chunk sizes, an over-long head, bytes
 * after the end) throws a ResponseParseError: the connection can't be trusted
 * for another request.
 */
import { H1Error } from "./errors.ts";
import { TOKEN } from "./request-head.ts";

export type HeaderMap = Record<string, string | string[]>;

export interface ResponseHead {
  status: number;
  headers: HeaderMap;
  /** The connection may carry another request once this answer ended. */
  keepAlive: boolean;
  /** The server's `Keep-Alive: timeout=N` in ms, or null. */
  keepAliveMs: number | null;
}

export interface ParserEvents {
  onHead(head: ResponseHead): void;
  /** Body bytes; the pieces of one `execute` call come as one buffer. */
  onData(chunk: Buffer): void;
  onEnd(): void;
}

export class ResponseParseError extends H1Error {
  constructor(message: string) {
    super("KP_H1_PARSE", `the upstream's answer is not valid HTTP/1.1: ${message}`);
    this.name = "ResponseParseError";
  }
}

const HEAD = 0;
const FIXED = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_CRLF = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;
const DONE = 7;

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: |$)/;
const DIGITS = /^\d{1,15}$/;
const HEX = /^[\da-fA-F]{1,12}$/;
/** A chunk-size or trailer line longer than this is refused (chunk extensions included). */
const MAX_LINE = 8192;

export class ResponseParser {
  readonly #events: ParserEvents;
  readonly #maxHeadBytes: number;
  #state = HEAD;
  #noBody = false;
  /** Bytes of an unfinished head, chunk-size line or trailer line. */
  #pending: Buffer | null = null;
  /** FIXED and CHUNK_DATA: bytes still to come; CHUNK_CRLF: bytes of the CRLF still to come. */
  #remaining = 0;
  #pieces: Buffer[] = [];

  constructor(events: ParserEvents, maxHeadBytes = 65_536) {
    this.#events = events;
    this.#maxHeadBytes = maxHeadBytes;
  }

  /** Ready for the next answer; `headRequest`: the request was a HEAD (no body whatever the headers say). */
  reset(headRequest: boolean): void {
    this.#state = HEAD;
    this.#noBody = headRequest;
    this.#pending = null;
    this.#remaining = 0;
    this.#pieces = [];
  }

  /** The answer has ended. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** Whether any byte of an answer has been read (a head started). */
  get started(): boolean {
    return this.#state !== HEAD || this.#pending !== null;
  }

  execute(chunk: Buffer): void {
    // What a previous read left unfinished (a head, a chunk-size or trailer line) goes first.
    let buf = chunk;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = null;
    }
    let i = 0;
    try {
      while (i < buf.length) {
        switch (this.#state) {
          case HEAD: {
            const end = buf.indexOf(HEAD_END, i);
            if (end < 0 || end - i > this.#maxHeadBytes) {
              if (buf.length - i > this.#maxHeadBytes) throw new ResponseParseError(`its head is longer than ${this.#maxHeadBytes} bytes`);
              this.#pending = buf.subarray(i);
              return;
            }
            const head = buf.toString("latin1", i, end);
            i = end + 4;
            this.#onHead(head);
            break;
          }
          case FIXED:
          case CHUNK_DATA: {
            const n = Math.min(this.#remaining, buf.length - i);
            this.#pieces.push(i === 0 && n === buf.length ? buf : buf.subarray(i, i + n));
            this.#remaining -= n;
            i += n;
            if (this.#remaining === 0) {
              if (this.#state === FIXED) this.#end();
              else {
                this.#state = CHUNK_CRLF;
                this.#remaining = 2;
              }
            }
            break;
          }
          case CHUNK_CRLF: {
            if (buf[i] !== (this.#remaining === 2 ? 13 : 10)) throw new ResponseParseError("a chunk is not followed by CRLF");
            i++;
            if (--this.#remaining === 0) this.#state = CHUNK_SIZE;
            break;
          }
          case CHUNK_SIZE: {
            // A stream is a chunk per event: its size line is read here, byte by byte (no native
            // indexOf, string or regex per chunk); one with an extension takes the slow path.
            let j = i;
            let size = 0;
            for (; j < buf.length && j - i <= 12; j++) {
              const v = hexValue(buf[j]!);
              if (v < 0) break;
              size = size * 16 + v;
            }
            if (j - i > 12) throw new ResponseParseError("a chunk size is too large");
            if (j + 1 < buf.length && j > i && buf[j] === 13 && buf[j + 1] === 10) {
              i = j + 2;
              this.#onSize(size);
              break;
            }
            const end = this.#lineEnd(buf, i);
            if (end < 0) return;
            const line = buf.toString("latin1", i, end);
            i = end + 2;
            const semi = line.indexOf(";");
            const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
            if (!HEX.test(hex)) throw new ResponseParseError(`bad chunk size ${JSON.stringify(line.slice(0, 40))}`);
            this.#onSize(Number.parseInt(hex, 16));
            break;
          }
          case TRAILERS: {
            if (buf[i] === 13 && i + 1 < buf.length && buf[i + 1] === 10) {
              i += 2;
              this.#end();
              break;
            }
            const end = this.#lineEnd(buf, i);
            if (end < 0) return;
            if (end === i) this.#end();
            i = end + 2;
            break;
          }
          case UNTIL_CLOSE:
            this.#pieces.push(i === 0 ? buf : buf.subarray(i));
            i = buf.length;
            break;
          default:
            throw new ResponseParseError("bytes came after the end of the answer");
        }
      }
    } finally {
      this.#flush();
    }
  }

  /**
   * The connection closed. True when that ends the answer (one framed by the close); false when
   * the answer was cut short or never began.
   */
  finish(): boolean {
    if (this.#state === UNTIL_CLOSE) this.#end();
    return this.#state === DONE;
  }

  /** Where the CRLF ending the line at `i` is; -1 (the rest kept for the next read) when it hasn't come. */
  #lineEnd(buf: Buffer, i: number): number {
    const end = buf.indexOf(CRLF, i);
    if (end >= 0 && end - i <= MAX_LINE) return end;
    if (buf.length - i > MAX_LINE) throw new ResponseParseError("a chunk-size or trailer line is too long");
    this.#pending = buf.subarray(i);
    return -1;
  }

  #onSize(size: number): void {
    if (size === 0) this.#state = TRAILERS;
    else {
      this.#state = CHUNK_DATA;
      this.#remaining = size;
    }
  }

  #onHead(head: string): void {
    // Scanned by index, not split into lines: the head is parsed once per answer, on every request.
    let eol = head.indexOf("\r\n");
    if (eol < 0) eol = head.length;
    const m = STATUS_LINE.exec(eol === head.length ? head : head.slice(0, eol));
    if (m === null) throw new ResponseParseError(`bad status line ${JSON.stringify(head.slice(0, Math.min(eol, 60)))}`);
    const minor = m[1]!;
    const status = Number(m[2]);
    const headers: HeaderMap = {};
    for (let pos = eol + 2; pos < head.length; ) {
      let end = head.indexOf("\r\n", pos);
      if (end < 0) end = head.length;
      const colon = head.indexOf(":", pos);
      if (colon <= pos || colon > end) throw new ResponseParseError(`bad header line ${JSON.stringify(head.slice(pos, Math.min(end, pos + 60)))}`);
      const name = head.slice(pos, colon).toLowerCase();
      if (!TOKEN.test(name)) throw new ResponseParseError(`bad header name ${JSON.stringify(name.slice(0, 60))}`);
      const value = head.slice(colon + 1, end).trim();
      pos = end + 2;
      if (name === "__proto__") continue;
      const had = headers[name];
      // An inherited member (`constructor`, `toString`) is not a header seen before.
      if (had === undefined || !Object.hasOwn(headers, name)) headers[name] = value;
      else if (typeof had === "string") headers[name] = [had, value];
      else had.push(value);
    }
    if (status < 200) {
      if (status === 101) throw new ResponseParseError("101 Switching Protocols was not asked for");
      return; // an interim answer: the final one follows
    }
    const connection = lower(headers.connection);
    let keepAlive = minor === "1" ? !connection.includes("close") : connection.includes("keep-alive");
    const te = headers["transfer-encoding"];
    const cl = headers["content-length"];
    if (this.#noBody || status === 204 || status === 304) this.#state = DONE;
    else if (te !== undefined) {
      if (cl !== undefined) keepAlive = false; // RFC 9112 §6.3: a sender of both is not to be trusted with the next request
      if (/(?:^|,)\s*chunked\s*$/i.test(lower(te))) this.#state = CHUNK_SIZE;
      else {
        this.#state = UNTIL_CLOSE;
        keepAlive = false;
      }
    } else if (cl !== undefined) {
      const values = typeof cl === "string" ? cl.split(",") : cl.flatMap((v) => v.split(","));
      const first = values[0]!.trim();
      if (!DIGITS.test(first) || values.some((v) => v.trim() !== first)) throw new ResponseParseError(`bad content-length ${JSON.stringify(String(cl).slice(0, 40))}`);
      this.#remaining = Number(first);
      this.#state = this.#remaining === 0 ? DONE : FIXED;
    } else {
      this.#state = UNTIL_CLOSE;
      keepAlive = false;
    }
    const ka = headers["keep-alive"];
    const t = typeof ka === "string" ? /timeout=(\d+)/i.exec(ka) : null;
    this.#events.onHead({ status, headers, keepAlive, keepAliveMs: t === null ? null : Number(t[1]) * 1000 });
    if (this.#state === DONE) this.#events.onEnd();
  }

  #end(): void {
    this.#flush();
    this.#state = DONE;
    this.#events.onEnd();
  }

  #flush(): void {
    const p = this.#pieces;
    if (p.length === 0) return;
    this.#pieces = [];
    this.#events.onData(p.length === 1 ? p[0]! : Buffer.concat(p));
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function lower(v: string | string[] | undefined): string {
  return v === undefined ? "" : typeof v === "string" ? v.toLowerCase() : v.join(",").toLowerCase();
}
