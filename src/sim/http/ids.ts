import { randomBytes } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
let pool = randomBytes(4096);
let offset = 0;

/** A random id like OpenAI's (`chatcmpl-…`, `req_…`), cheap enough for every request. */
export function randomId(prefix: string, length = 24): string {
  if (offset + length > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  let out = prefix;
  for (let i = 0; i < length; i++) out += ALPHABET[pool[offset++]! % 62];
  return out;
}

/** Request ids: `req_` and 32 hex digits, as OpenAI sends. */
let counter = 0;
const base = randomBytes(10).toString("hex");
export function requestId(): string {
  counter = (counter + 1) >>> 0;
  return `req_${base}${counter.toString(16).padStart(12, "0")}`;
}
