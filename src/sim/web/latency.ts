import { setTimeout as sleep } from "node:timers/promises";
import type { SimContext } from "../context.ts";

/** A session's scripted latency; false when the simulator closed meanwhile (answer nothing then). */
export async function sessionLatency(ctx: SimContext, ms: number): Promise<boolean> {
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal: ctx.signal });
    return true;
  } catch {
    return false;
  }
}
