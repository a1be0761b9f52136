/** Writing answers: JSON bodies, and every error through the one converter. */
import type { ServerResponse } from "node:http";
import { toErrorResponse } from "../../errors/index.ts";

const JSON_TYPE = "application/json; charset=utf-8";

export function sendJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  const body = JSON.stringify(value);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  res.setHeader("content-type", JSON_TYPE);
  res.setHeader("content-length", Buffer.byteLength(body));
  if (headers !== undefined) for (const k in headers) res.setHeader(k, headers[k]!);
  res.end(body);
}

/**
 * Answers an error in OpenAI's shape. If the answer already started (a stream
 * cut short), the connection is dropped instead: the client sees a broken
 * stream, never a second status line.
 */
export function sendError(res: ServerResponse, err: unknown): number {
  const r = toErrorResponse(err);
  if (res.headersSent) {
    res.destroy();
    return r.status;
  }
  sendJson(res, r.status, r.body, r.headers);
  return r.status;
}
