/**
 * The connections to one origin: idle ones reused newest first (the oldest
 * age out), new ones opened up to a limit, requests beyond it queued in
 * order. A connection idle past its keep-alive (ours, or one second less than
 * the server's hint, so we never write on a socket the server is closing) is
 * closed rather than reused.
 */
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { Connection, type ConnectionOwner, type ExchangeOptions, type H1Answer } from "./connection.ts";
import { H1Error } from "./errors.ts";

export interface OriginOptions {
  /** Most connections open at once (default 256). */
  connections: number;
  connectMs: number;
  /** How long an idle connection is kept when the server gives no hint. */
  keepAliveMs: number;
  /** Extra TLS options (a test's CA, say). */
  tls?: ConnectionOptions;
}

interface Waiter {
  path: string;
  o: ExchangeOptions;
  resolve: (a: H1Answer) => void;
  reject: (err: unknown) => void;
  onAbort: () => void;
}

/** Server hints are trusted only this far below their word. */
const HINT_MARGIN_MS = 1000;

export class OriginPool implements ConnectionOwner {
  readonly #opts: OriginOptions;
  readonly #secure: boolean;
  readonly #hostname: string;
  readonly #port: number;
  /** The Host header. */
  readonly #host: string;
  readonly #idle: Connection[] = [];
  readonly #waiting: Waiter[] = [];
  #open = 0;
  #closed = false;

  constructor(origin: string, opts: OriginOptions) {
    const url = new URL(origin);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new H1Error("KP_H1_INVALID_REQUEST", `unsupported protocol ${url.protocol}`);
    this.#opts = opts;
    this.#secure = url.protocol === "https:";
    this.#hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    this.#port = url.port === "" ? (this.#secure ? 443 : 80) : Number(url.port);
    this.#host = url.host;
  }

  /** Connections open (busy and idle). */
  get open(): number {
    return this.#open;
  }

  get idle(): number {
    return this.#idle.length;
  }

  request(path: string, o: ExchangeOptions): Promise<H1Answer> {
    if (this.#closed) return Promise.reject(new H1Error("KP_H1_AGENT_CLOSED", "the upstream client is closed"));
    const conn = this.#take();
    if (conn !== null) return conn.send(o.method, path, this.#host, o);
    if (this.#open < this.#opts.connections) return this.#connect().send(o.method, path, this.#host, o);
    return this.#queue(path, o);
  }

  release(conn: Connection, reusable: boolean): void {
    if (!reusable || this.#closed) {
      // One that died while idle leaves the list too.
      this.#dropIdle(conn);
      this.#drop(conn);
      const next = this.#waiting.shift();
      if (next !== undefined && !this.#closed) this.#serve(next, this.#connect());
      return;
    }
    const next = this.#waiting.shift();
    if (next !== undefined) {
      this.#serve(next, conn);
      return;
    }
    conn.idleSince = Date.now();
    // An idle connection doesn't keep the process alive (a script that forgot close() still exits).
    conn.socket.unref();
    this.#idle.push(conn);
  }

  resend(path: string, o: ExchangeOptions, resolve: (a: H1Answer) => void, reject: (err: unknown) => void, err: unknown): void {
    if (this.#closed) return reject(err);
    if (o.signal.aborted) return reject(o.signal.reason);
    // A new connection, not another idle one: those idled as long, and the server may have closed them all.
    if (this.#open < this.#opts.connections) {
      this.#connect().send(o.method, path, this.#host, o).then(resolve, reject);
      return;
    }
    this.#queue(path, o).then(resolve, reject);
  }

  /** Closes connections idle past their keep-alive; the oldest are first in line. */
  sweep(now: number): void {
    let n = 0;
    while (n < this.#idle.length && this.#expired(this.#idle[n]!, now)) n++;
    if (n === 0) return;
    for (const conn of this.#idle.splice(0, n)) this.#drop(conn);
  }

  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) this.#drop(conn);
    for (const w of this.#waiting.splice(0)) {
      w.o.signal.removeEventListener("abort", w.onAbort);
      w.reject(new H1Error("KP_H1_AGENT_CLOSED", "the upstream client is closed"));
    }
  }

  #take(): Connection | null {
    const now = Date.now();
    for (;;) {
      const conn = this.#idle.pop();
      if (conn === undefined) return null;
      if (!conn.dead && !this.#expired(conn, now)) {
        conn.socket.ref();
        return conn;
      }
      this.#drop(conn);
    }
  }

  /** Closes a connection the pool counted as open. */
  #drop(conn: Connection): void {
    conn.destroy();
    this.#open--;
  }

  #dropIdle(conn: Connection): void {
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  #expired(conn: Connection, now: number): boolean {
    const hint = conn.keepAliveMs;
    const limit = hint === null ? this.#opts.keepAliveMs : Math.min(this.#opts.keepAliveMs, hint - HINT_MARGIN_MS);
    return now - conn.idleSince >= limit;
  }

  #connect(): Connection {
    this.#open++;
    const socket: Socket = this.#secure
      ? tlsConnect({ host: this.#hostname, port: this.#port, servername: isIP(this.#hostname) === 0 ? this.#hostname : undefined, ALPNProtocols: ["http/1.1"], ...this.#opts.tls })
      : netConnect({ host: this.#hostname, port: this.#port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    const ms = this.#opts.connectMs;
    const timer = setTimeout(() => socket.destroy(new H1Error("KP_H1_CONNECT_TIMEOUT", `could not connect to ${this.#host} within ${ms} ms`)), ms);
    timer.unref();
    socket.once(this.#secure ? "secureConnect" : "connect", () => clearTimeout(timer));
    socket.once("close", () => clearTimeout(timer));
    return new Connection(socket, this);
  }

  #queue(path: string, o: ExchangeOptions): Promise<H1Answer> {
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        path,
        o,
        resolve,
        reject,
        onAbort: () => {
          const i = this.#waiting.indexOf(w);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(o.signal.reason);
        },
      };
      if (o.signal.aborted) return reject(o.signal.reason);
      o.signal.addEventListener("abort", w.onAbort, { once: true });
      this.#waiting.push(w);
    });
  }

  #serve(w: Waiter, conn: Connection): void {
    conn.socket.ref();
    w.o.signal.removeEventListener("abort", w.onAbort);
    conn.send(w.o.method, w.path, this.#host, w.o).then(w.resolve, w.reject);
  }
}
