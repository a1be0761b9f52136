/** Reads a request body into one buffer, refusing (413) past the limit. */
import type { IncomingMessage } from "node:http";
import { PayloadTooLargeError } from "../errors.ts";

const EMPTY = Buffer.alloc(0);

/**
 * Reads on and throws away what the client is still sending after a 413, up
 * to `limit` more bytes: a client still writing its body then reads the 413
 * instead of a connection reset (which is what closing at once gave it).
 * Past that, the connection is dropped.
 */
function discardRest(req: IncomingMessage, limit: number): void {
  let discarded = 0;
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > limit) {
      req.off("data", onData);
      req.socket.destroy();
    }
  };
  req.on("data", onData);
}

/** Resolves with the whole body (empty when there is none); rejects with PayloadTooLargeError past `limit`. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined) {
    const n = Number(declared);
    if (n > limit) {
      discardRest(req, limit);
      return Promise.reject(new PayloadTooLargeError(limit));
    }
    if (n === 0) return Promise.resolve(EMPTY);
  } else if (req.headers["transfer-encoding"] === undefined) {
    return Promise.resolve(EMPTY);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        discardRest(req, limit);
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onAborted = (): void => {
      cleanup();
      reject(Object.assign(new Error("client aborted the request"), { code: "ECONNRESET" }));
    };
    const cleanup = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}
