/**
 * One keep-alive connection to an upstream origin, carrying one request at a
 * time: the request leaves in one write (head and body together), the answer
 * is parsed as it arrives and handed over at its head, with the body as a
 * stream that pauses the socket while its reader is full. Timeouts: for the
 * head, then for each silence within the body (not counted while the reader
 * holds the body back). The connection goes back to its pool only after an
 * answer that ended cleanly and allows it.
 */
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { Readable } from "node:stream";
import { Deadline } from "./deadline.ts";
import { H1Error, type H1ErrorCode } from "./errors.ts";
import { requestHead } from "./request-head.ts";
import { ResponseParser, type HeaderMap, type ResponseHead } from "./response-parser.ts";
import { inFlight, uncorkAtTurnEnd } from "./write-batch.ts";

export interface ExchangeOptions {
  method: string;
  headers: Record<string, string>;
  body: Buffer | null;
  signal: AbortSignal;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

/**
 * An answer at its head. When its body came in the same read (most JSON answers, and streams a
 * fast upstream writes at once), `whole` holds it and the stream is only made if someone asks
 * for `body`: the gateway sends `whole` as it is, with no stream, listener or tick per answer.
 */
export class H1Answer {
  readonly status: number;
  readonly headers: HeaderMap;
  /** The whole body, when it had all come with the head; null when it is still coming. */
  readonly whole: Buffer | null;
  #body: Readable | null;

  constructor(status: number, headers: HeaderMap, body: Readable | null, whole: Buffer | null) {
    this.status = status;
    this.headers = headers;
    this.#body = body;
    this.whole = whole;
  }

  get body(): Readable {
    return (this.#body ??= Readable.from(this.whole!.length === 0 ? [] : [this.whole!], { objectMode: false }));
  }
}

const EMPTY = Buffer.alloc(0);

/** Where a connection goes when its exchange is over: back to the idle ones, or closed. */
export interface ConnectionOwner {
  release(conn: Connection, reusable: boolean): void;
  /** A request that met a kept-alive connection the server had closed, for another connection. */
  resend(path: string, o: ExchangeOptions, resolve: (a: H1Answer) => void, reject: (err: unknown) => void, err: unknown): void;
}

/** How a server's close of a connection it kept alive shows when a request is written on it. */
const STALE_CODES = new Set(["KP_H1_CLOSED", "ECONNRESET", "EPIPE"]);

/** The answer's body: reads resume the socket; destroying it mid-way closes the connection. */
class BodyStream extends Readable {
  conn: Connection | null;
  constructor(conn: Connection) {
    super();
    this.conn = conn;
  }
  override _read(): void {
    this.conn?.resumeBody();
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const conn = this.conn;
    this.conn = null;
    conn?.abandon(err);
    cb(err);
  }
}

export class Connection {
  readonly socket: Socket;
  readonly #owner: ConnectionOwner;
  readonly #parser: ResponseParser;
  /** When it last went idle (ms since epoch). */
  idleSince = 0;
  /** The server's keep-alive hint from its last answer. */
  keepAliveMs: number | null = null;
  /** Closed or closing: never handed out again. */
  dead = false;

  // The exchange in progress (one at a time: no allocation of an exchange object per request).
  #busy = false;
  /** Requests sent on it: from the second on, the server may have closed it while it sat idle. */
  #sent = 0;
  /** The exchange's request, kept for a resend. */
  #path = "";
  #options: ExchangeOptions | null = null;
  #resolve: ((a: H1Answer) => void) | null = null;
  #reject: ((err: unknown) => void) | null = null;
  #body: BodyStream | null = null;
  /** A head parsed in the read being handled, not yet handed over (its body may end in the same read). */
  #head: ResponseHead | null = null;
  /** Body bytes of that same read. */
  #early: Buffer | null = null;
  #keepAlive = false;
  #signal: AbortSignal | null = null;
  #paused = false;
  #bodyTimeoutMs = 0;
  #headersTimeoutMs = 0;
  /** Connected (and through the TLS handshake): the head's timeout runs from then, as undici's does. */
  #connected: boolean;
  /** The head's timeout, then the body's (each silence), as #timeout says. */
  readonly #deadline = new Deadline(() => this.#fail(this.#timeoutError()));
  #timeout: H1ErrorCode = "KP_H1_HEADERS_TIMEOUT";
  #timeoutMs = 0;
  readonly #onAbort = (): void => this.#fail(this.#signal?.reason ?? new Error("aborted"));

  constructor(socket: Socket, owner: ConnectionOwner) {
    this.socket = socket;
    this.#owner = owner;
    this.#connected = !socket.connecting;
    if (!this.#connected) {
      // Connecting has its own timeout (the pool's): a slow handshake doesn't eat the answer's time.
      socket.once(socket instanceof TLSSocket ? "secureConnect" : "connect", () => {
        this.#connected = true;
        if (this.#resolve !== null && this.#head === null && this.#headersTimeoutMs > 0) this.#arm("KP_H1_HEADERS_TIMEOUT", this.#headersTimeoutMs);
      });
    }
    this.#parser = new ResponseParser({
      onHead: (h) => this.#onHead(h),
      onData: (chunk) => this.#onBodyData(chunk),
      onEnd: () => {},
    });
    socket.on("data", (d: Buffer) => this.#onData(d));
    socket.on("end", () => this.#onEnd());
    socket.on("error", (err: Error) => this.#fail(err));
    socket.on("close", () => this.#fail(new H1Error("KP_H1_CLOSED", "the upstream closed the connection before its answer ended")));
  }

  /** Sends one request; resolves at the answer's head. */
  send(method: string, path: string, host: string, o: ExchangeOptions): Promise<H1Answer> {
    if (o.signal.aborted) {
      this.#owner.release(this, true);
      return Promise.reject(o.signal.reason);
    }
    let head: string;
    try {
      head = requestHead(method, path, host, o.headers, o.body === null ? null : o.body.length);
    } catch (err) {
      this.#owner.release(this, true); // nothing was written: the connection is as good as before
      return Promise.reject(err);
    }
    this.#busy = true;
    inFlight.count++;
    this.#sent++;
    this.#path = path;
    this.#options = o;
    this.#parser.reset(method === "HEAD");
    this.#keepAlive = false;
    this.#paused = false;
    this.#bodyTimeoutMs = o.bodyTimeoutMs;
    this.#signal = o.signal;
    o.signal.addEventListener("abort", this.#onAbort);
    const socket = this.socket;
    socket.cork();
    socket.write(head, "latin1");
    if (o.body !== null && o.body.length > 0) socket.write(o.body);
    // Alone in flight it leaves now; with others, with the turn's other requests (write-batch.ts).
    if (inFlight.count > 1) uncorkAtTurnEnd(socket);
    else socket.uncork();
    this.#headersTimeoutMs = o.headersTimeoutMs;
    if (o.headersTimeoutMs > 0 && this.#connected) this.#arm("KP_H1_HEADERS_TIMEOUT", o.headersTimeoutMs);
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** The body's reader wants more. */
  resumeBody(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume();
    if (this.#bodyTimeoutMs > 0) this.#arm("KP_H1_BODY_TIMEOUT", this.#bodyTimeoutMs);
  }

  /** The body's reader gave up before the end: the rest of the answer is unread, so the connection closes. */
  abandon(err: Error | null): void {
    if (!this.#busy) return;
    this.#body = null;
    this.#fail(err ?? new H1Error("KP_H1_CLOSED", "the answer's body was dropped before its end"));
  }

  destroy(): void {
    this.dead = true;
    this.#deadline.stop();
    this.socket.destroy();
  }

  #onData(d: Buffer): void {
    if (!this.#busy) {
      // Bytes nobody asked for: the server is out of step with us.
      this.#fail(new H1Error("KP_H1_PARSE", "the upstream sent bytes between answers"));
      return;
    }
    try {
      this.#parser.execute(d);
    } catch (err) {
      // Bytes in the same read after a complete answer (a stray CRLF some servers add): the answer
      // stands, as undici lets it, but the connection is out of step and goes.
      if (!this.#parser.done) {
        this.#fail(err);
        return;
      }
      this.#keepAlive = false;
    }
    if (this.#head !== null) this.#deliver();
    if (this.#parser.done) this.#complete();
  }

  #onEnd(): void {
    if (this.#busy && this.#parser.finish()) {
      this.#keepAlive = false;
      this.#complete();
      return;
    }
    this.#fail(new H1Error("KP_H1_CLOSED", "the upstream closed the connection before its answer ended"));
  }

  #onHead(h: ResponseHead): void {
    this.#keepAlive = h.keepAlive;
    this.keepAliveMs = h.keepAliveMs;
    this.#head = h;
    if (this.#bodyTimeoutMs > 0) this.#arm("KP_H1_BODY_TIMEOUT", this.#bodyTimeoutMs);
    else this.#deadline.disarm();
  }

  /** Hands the answer over once the read that brought its head is parsed: whole if it ended there, else as a stream. */
  #deliver(): void {
    const h = this.#head!;
    const early = this.#early;
    this.#head = null;
    this.#early = null;
    const resolve = this.#resolve!;
    this.#resolve = null;
    this.#reject = null;
    if (this.#parser.done) {
      resolve(new H1Answer(h.status, h.headers, null, early ?? EMPTY));
      return;
    }
    this.#body = new BodyStream(this);
    if (early !== null) this.#onBodyData(early);
    resolve(new H1Answer(h.status, h.headers, this.#body, null));
  }

  #onBodyData(chunk: Buffer): void {
    if (this.#head !== null) {
      this.#early = this.#early === null ? chunk : Buffer.concat([this.#early, chunk]);
      return;
    }
    if (this.#body === null) return;
    if (this.#bodyTimeoutMs > 0) this.#deadline.arm(this.#bodyTimeoutMs);
    if (!this.#body.push(chunk) && !this.#paused) {
      // The reader is full: the socket waits, and its silence isn't the upstream's.
      this.#paused = true;
      this.socket.pause();
      this.#deadline.disarm();
    }
  }

  /** The answer ended cleanly. */
  #complete(): void {
    const body = this.#body;
    if (this.#paused) {
      // Its last bytes came while the reader was full: they wait in the body, the socket doesn't.
      this.#paused = false;
      this.socket.resume();
    }
    this.#finishExchange();
    if (body !== null) {
      body.conn = null;
      body.push(null);
    }
    this.#owner.release(this, this.#keepAlive);
  }

  /**
   * Anything that ends the exchange badly, or kills an idle connection. Runs once per exchange. A
   * request on a kept-alive connection that closed with no byte of an answer goes out again on
   * another: the server closed it as idle just as the request was written (the race every
   * keep-alive client meets; browsers resend too), so it never saw the request. Not when a byte
   * came back, nor on a fresh connection, where a close is the server's failure.
   */
  #fail(err: unknown): void {
    if (this.dead && !this.#busy) return;
    const resolve = this.#resolve;
    const reject = this.#reject;
    const body = this.#body;
    const o = this.#options;
    const stale = reject !== null && this.#sent > 1 && !this.#parser.started && STALE_CODES.has((err as { code?: string } | null)?.code ?? "");
    this.#finishExchange();
    this.destroy();
    if (stale) {
      this.#owner.release(this, false);
      this.#owner.resend(this.#path, o!, resolve!, reject, err);
      return;
    }
    if (reject !== null) reject(err);
    else if (body !== null) {
      body.conn = null;
      body.destroy(err as Error);
    }
    // Once per connection: destroy() marked it dead, so a later event returns above.
    this.#owner.release(this, false);
  }

  #finishExchange(): void {
    if (this.#busy) inFlight.count--;
    this.#busy = false;
    this.#options = null;
    this.#head = null;
    this.#early = null;
    this.#resolve = null;
    this.#reject = null;
    this.#body = null;
    this.#deadline.disarm();
    if (this.#signal !== null) {
      this.#signal.removeEventListener("abort", this.#onAbort);
      this.#signal = null;
    }
  }

  #arm(kind: H1ErrorCode, ms: number): void {
    this.#timeout = kind;
    this.#timeoutMs = ms;
    this.#deadline.arm(ms);
  }

  #timeoutError(): H1Error {
    const ms = this.#timeoutMs;
    return this.#timeout === "KP_H1_HEADERS_TIMEOUT"
      ? new H1Error("KP_H1_HEADERS_TIMEOUT", `no answer from the upstream within ${ms} ms`)
      : new H1Error("KP_H1_BODY_TIMEOUT", `the upstream's answer stalled for ${ms} ms`);
  }
}
