/** One HTTP exchange with the upstream (keypool's HTTP/1.1 client, or undici behind a proxy), its failures named. */
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { H1Agent } from "./h1/agent.ts";
import { undici } from "./undici-lazy.ts";
import type { HeaderGetter } from "../pool/ratelimit-headers.ts";
import type { TransportFailure } from "../pool/outcome.ts";
import type { UpstreamTarget } from "./upstream-url.ts";

export interface UpstreamAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as it arrives (made on first use when `whole` is set). */
  readonly body: Readable;
  /** The whole body when it came with the head (keypool's client); null when it is still coming. */
  whole: Buffer | null;
}

export interface SendOptions {
  method: string;
  headers: Record<string, string>;
  body: Buffer | null;
  signal: AbortSignal;
  dispatcher: Dispatcher | H1Agent;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

/** A request that never got an answer: timed out, reset, or couldn't connect. */
export class TransportFailureError extends Error {
  readonly failure: TransportFailure;
  constructor(failure: TransportFailure, cause: unknown) {
    super(`upstream ${failure}`, { cause });
    this.name = "TransportFailureError";
    this.failure = failure;
  }
}

const TIMEOUT = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT", "KP_H1_HEADERS_TIMEOUT", "KP_H1_BODY_TIMEOUT"]);
const CONNECT = new Set(["UND_ERR_CONNECT_TIMEOUT", "KP_H1_CONNECT_TIMEOUT", "ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_PRX_TLS"]);

/** Names a transport error; undefined when it is the caller's abort. */
export function failureOf(err: unknown, signal?: AbortSignal): TransportFailure | undefined {
  if (signal?.aborted) return undefined;
  const code = (err as { code?: string } | null)?.code ?? "";
  if (TIMEOUT.has(code)) return "timeout";
  if (CONNECT.has(code)) return "connect";
  return "reset";
}

/** `url` as a string, or already split (the request path's form: no URL parse per request). */
export async function send(url: string | UpstreamTarget, o: SendOptions): Promise<UpstreamAnswer> {
  try {
    const d = o.dispatcher;
    if (d instanceof H1Agent) {
      const t = typeof url === "string" ? targetOf(url) : url;
      return await d.request(t.origin, t.path, o); // SendOptions carries every ExchangeOptions field
    }
    const options = {
      method: o.method as Dispatcher.HttpMethod,
      headers: o.headers,
      body: o.body,
      signal: o.signal,
      headersTimeout: o.headersTimeoutMs,
      bodyTimeout: o.bodyTimeoutMs,
    };
    const res = typeof url === "string" ? await undici().request(url, { ...options, dispatcher: d }) : await d.request({ ...options, origin: url.origin, path: url.path });
    return { status: res.statusCode, headers: res.headers, body: res.body, whole: null };
  } catch (err) {
    const failure = failureOf(err, o.signal);
    if (failure === undefined) throw o.signal.reason ?? err;
    throw new TransportFailureError(failure, err);
  }
}

function targetOf(url: string): UpstreamTarget {
  const u = new URL(url);
  return { origin: u.origin, path: `${u.pathname}${u.search}` };
}

export function headerGetter(headers: UpstreamAnswer["headers"]): HeaderGetter {
  return (name) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
}

/** Reads at most `limit` bytes of a body (error answers are small; a huge one is cut, not buffered). */
export async function readBounded(body: Readable, limit = 65_536): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      if (size + buf.length > limit) {
        chunks.push(buf.subarray(0, limit - size));
        size = limit;
        body.destroy();
        break;
      }
      chunks.push(buf);
      size += buf.length;
    }
  } catch {
    // A body cut short still tells what it told so far.
  }
  return Buffer.concat(chunks, size);
}

export function parseMaybeJson(buf: Buffer): unknown {
  const text = buf.toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
