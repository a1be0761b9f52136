import { randomBytes } from "node:crypto";

let lastTime = 0;
let sequence = 0;

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
  return `${prefix}_${time}${seq}${randomBytes(4).toString("hex")}`;
}

/** A random id for things that need no order (instances, requests). */
export function randomId(prefix: string, bytes = 8): string {
  return `${prefix}_${randomBytes(bytes).toString("hex")}`;
}
