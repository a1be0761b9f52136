/**
 * The bytes of a request's head: request line, Host, the caller's headers,
 * the body's length. Refuses what would let a value end its line early (a
 * header or path with CR, LF or NUL would otherwise smuggle a header or a
 * second request to the upstream).
 */
import { H1Error } from "./errors.ts";

const TOKEN = /^[!#$%&'*+\-.^\w`|~]+$/;
const BAD_VALUE = /[\r\n\0]/;
const BAD_PATH = /[\s\0]/;
/** Methods whose bodiless requests still say `content-length: 0` (as undici and curl send them). */
const EXPECTS_BODY = new Set(["POST", "PUT", "PATCH"]);
/** Set here from the request itself: a caller's copy would contradict it. */
const OWN = new Set(["host", "content-length", "transfer-encoding"]);

export function requestHead(method: string, path: string, host: string, headers: Record<string, string>, bodyLength: number | null): string {
  if (!TOKEN.test(method)) throw new H1Error("KP_H1_INVALID_REQUEST", `invalid method ${JSON.stringify(method)}`);
  if (!path.startsWith("/") || BAD_PATH.test(path)) throw new H1Error("KP_H1_INVALID_REQUEST", `invalid request path ${JSON.stringify(path.slice(0, 80))}`);
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const name in headers) {
    if (OWN.has(name)) continue;
    const value = headers[name]!;
    if (!TOKEN.test(name)) throw new H1Error("KP_H1_INVALID_REQUEST", `invalid header name ${JSON.stringify(name.slice(0, 80))}`);
    // The value isn't quoted: it may be a credential.
    if (BAD_VALUE.test(value)) throw new H1Error("KP_H1_INVALID_REQUEST", `header ${name} has a line break or NUL in its value`);
    head += `${name}: ${value}\r\n`;
  }
  if (bodyLength !== null) head += `content-length: ${bodyLength}\r\n`;
  else if (EXPECTS_BODY.has(method)) head += "content-length: 0\r\n";
  return `${head}\r\n`;
}
