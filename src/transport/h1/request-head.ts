/**
 * The bytes of a request's head: request line, Host, the caller's headers,
 * the body's length. Refuses what would let a value end its line early (a
 * header or path with CR, LF or NUL would otherwise smuggle a header or a
 * second request to the upstream).
 */
import { H1Error } from "./errors.ts";

/** An RFC 9110 token: what a method or a header name may be (the parser checks answers' names by it too). */
export const TOKEN = /^[!#$%&'*+\-.^\w`|~]+$/;
/**
 * What a field value may hold (undici's rule): tab, visible ASCII, and bytes 0x80–0xFF. The head is
 * written as latin1, which keeps a character's low byte only, so anything above U+00FF is refused
 * too: U+010A would reach the wire as LF.
 */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const BAD_PATH = /[^\x21-\x7e\x80-\xff]/;
/** Methods whose bodiless requests still say `content-length: 0` (as undici and curl send them). */
const EXPECTS_BODY = new Set(["POST", "PUT", "PATCH"]);
/** Set here from the request itself: a caller's copy would contradict it. */
const OWN = new Set(["host", "content-length", "transfer-encoding"]);

export function requestHead(method: string, path: string, host: string, headers: Record<string, string>, bodyLength: number | null): string {
  if (!TOKEN.test(method)) throw new H1Error("KP_H1_INVALID_REQUEST", `invalid method ${JSON.stringify(method)}`);
  if (!path.startsWith("/") || BAD_PATH.test(path)) throw new H1Error("KP_H1_INVALID_REQUEST", `invalid request path ${JSON.stringify(path.slice(0, 80))}`);
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const name in headers) {
    // Only names of these lengths can be one of OWN (4, 14, 17): no lower-casing of every name.
    if ((name.length === 4 || name.length === 14 || name.length === 17) && OWN.has(name.toLowerCase())) continue;
    const value = headers[name]!;
    if (!TOKEN.test(name)) throw new H1Error("KP_H1_INVALID_REQUEST", `invalid header name ${JSON.stringify(name.slice(0, 80))}`);
    // The value isn't quoted: it may be a credential.
    if (BAD_VALUE.test(value)) throw new H1Error("KP_H1_INVALID_REQUEST", `header ${name} has a control character or one above U+00FF in its value`);
    head += `${name}: ${value}\r\n`;
  }
  if (bodyLength !== null) head += `content-length: ${bodyLength}\r\n`;
  else if (EXPECTS_BODY.has(method)) head += "content-length: 0\r\n";
  return `${head}\r\n`;
}
