import type { IncomingMessage, ServerResponse } from "node:http";

/** Response headers as a flat list `[name, value, name, value]`, the cheapest form for writeHead. */
export type HeaderList = string[];

const JSON_TYPE = "application/json";

export function sendJson(res: ServerResponse, status: number, body: string, headers: HeaderList = []): void {
  headers.push("content-type", JSON_TYPE, "content-length", String(Buffer.byteLength(body)));
  res.writeHead(status, headers);
  res.end(body);
}

export const MAX_BODY_BYTES = 32 * 1024 * 1024;

export class BodyTooLargeError extends Error {
  constructor() {
    super("request body too large");
    this.name = "BodyTooLargeError";
  }
}

/**
 * Reads the whole request body and calls `done` with its bytes, or with null
 * when it is too large or the request fails. No promise: the hot path.
 */
export function collectBody(req: IncomingMessage, done: (body: Buffer | null) => void): void {
  // Usually the whole body came with the headers: by the next tick the parser
  // has buffered all content-length bytes, and one read takes them without
  // any stream events.
  process.nextTick(readBuffered, req, done);
}

const EMPTY = Buffer.alloc(0);

function readBuffered(req: IncomingMessage, done: (body: Buffer | null) => void): void {
  const declared = req.headers["content-length"];
  if (declared !== undefined && !req.destroyed) {
    const length = Number(declared);
    if (length === 0) return done(EMPTY);
    if (length > MAX_BODY_BYTES) {
      req.destroy();
      return done(null);
    }
    if (req.readableLength === length) {
      const chunk = req.read() as Buffer | null;
      if (chunk !== null && chunk.length === length) return done(chunk);
      if (chunk !== null) req.unshift(chunk);
    }
  }
  collectStreamed(req, done);
}

function collectStreamed(req: IncomingMessage, done: (body: Buffer | null) => void): void {
  let first: Buffer | null = null;
  let rest: Buffer[] | null = null;
  let size = 0;
  let finished = false;
  const finish = (body: Buffer | null): void => {
    if (finished) return;
    finished = true;
    done(body);
  };
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      finish(null);
      req.destroy();
      return;
    }
    if (first === null) first = chunk;
    else (rest ??= [first]).push(chunk);
  });
  req.on("end", () => {
    finish(rest !== null ? Buffer.concat(rest) : (first ?? EMPTY));
  });
  req.on("error", () => finish(null));
  req.on("close", () => finish(null));
}

/** Reads the whole request body as text (one chunk is the usual case: no copy). */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let first: Buffer | null = null;
    let rest: Buffer[] | null = null;
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError());
        req.destroy();
        return;
      }
      if (first === null) first = chunk;
      else (rest ??= [first]).push(chunk);
    });
    req.on("end", () => {
      if (rest !== null) resolve(Buffer.concat(rest).toString("utf8"));
      else resolve(first === null ? "" : (first as Buffer).toString("utf8"));
    });
    req.on("error", reject);
  });
}

/** Splits `path?query` without building a URL object. */
export function splitUrl(url: string): { path: string; query: URLSearchParams | null } {
  const q = url.indexOf("?");
  if (q === -1) return { path: url, query: null };
  return { path: url.slice(0, q), query: new URLSearchParams(url.slice(q + 1)) };
}

/** Reads one cookie from a Cookie header. */
export function getCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

export function bearer(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth === undefined || auth.length < 8) return undefined;
  if (auth.charCodeAt(6) !== 32 || (!auth.startsWith("Bearer") && auth.slice(0, 6).toLowerCase() !== "bearer")) return undefined;
  const token = auth.slice(7).trim();
  return token === "" ? undefined : token;
}
