import { randomBytes, randomFillSync } from "node:crypto";

let lastTime = 0;
let sequence = 0;

// Random bytes drawn in bulk: one syscall per 8 KiB rather than one per id.
const pool = Buffer.alloc(8192);
let offset = pool.length;
function random32(): string {
  if (offset + 4 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString("hex", offset, offset + 4);
  offset += 4;
  return hex;
}

/**
 * A unique id whose string order is its creation order (within one process;
 * across processes, to the millisecond): `prefix_` + 11 hex of time + 4 hex of
 * sequence + 8 hex of randomness.
 */
export function timeOrderedId(prefix: string, now: number = Date.now()): string {
  if (now === lastTime) sequence = (sequence + 1) & 0xffff;
  else {
    lastTime = now;
    sequence = 0;
  }
  const time = now.toString(16).padStart(11, "0");
  const seq = sequence.toString(16).padStart(4, "0");
  return `${prefix}_${time}${seq}${random32()}`;
}

/** A random id for things that need no order (instances, requests). */
export function randomId(prefix: string, bytes = 8): string {
  return `${prefix}_${randomBytes(bytes).toString("hex")}`;
}
