import { randomBytes } from "node:crypto";

const POOL_BYTES = 64 * 1024;
let pool = randomBytes(POOL_BYTES).toString("base64url");
let offset = 0;

/**
 * A random id like OpenAI's (`chatcmpl-…`, `resp_…`): `length` base64url
 * characters cut from a pool refilled every few thousand ids.
 */
export function randomId(prefix: string, length = 24): string {
  if (offset + length > pool.length) {
    pool = randomBytes(POOL_BYTES).toString("base64url");
    offset = 0;
  }
  const id = prefix + pool.slice(offset, offset + length);
  offset += length;
  return id;
}

/** Request ids: `req_` and 32 hex digits, as OpenAI sends. */
let counter = 0;
const base = randomBytes(10).toString("hex");
export function requestId(): string {
  counter = (counter + 1) >>> 0;
  return `req_${base}${counter.toString(16).padStart(12, "0")}`;
}
