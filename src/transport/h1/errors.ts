/**
 * Failures of the HTTP/1.1 upstream client, each with a stable code. The
 * transport names them (send.ts `failureOf`): the timeouts and the connect
 * failure by code, everything else a reset.
 */
export type H1ErrorCode =
  | "KP_H1_CONNECT_TIMEOUT"
  | "KP_H1_HEADERS_TIMEOUT"
  | "KP_H1_BODY_TIMEOUT"
  /** The connection closed before the answer ended. */
  | "KP_H1_CLOSED"
  | "KP_H1_PARSE"
  /** A request that can't be written as HTTP/1.1 (a header value with a line break, say). */
  | "KP_H1_INVALID_REQUEST"
  | "KP_H1_AGENT_CLOSED";

export class H1Error extends Error {
  readonly code: H1ErrorCode;
  constructor(code: H1ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "H1Error";
    this.code = code;
  }
}
