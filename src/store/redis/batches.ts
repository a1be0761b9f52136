/** Splitting bulk work into Redis-sized batches, a few in flight at a time. */
import type { ChainableCommander } from "ioredis";

export const BATCH = 1000;
/** Batches in flight at once: enough to keep Redis busy, few enough that none waits near the command timeout. */
const IN_FLIGHT = 4;

export function chunk<T>(items: readonly T[], size: number = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `work` on every batch with bounded concurrency; results keep the batches' order. */
export async function eachBatch<T, R>(batches: readonly T[], work: (batch: T) => Promise<R>, inFlight = IN_FLIGHT): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const i = next++;
      results[i] = await work(batches[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, batches.length) }, worker));
  return results;
}

/** Runs tasks as they come, at most `inFlight` at a time (work can start before all of it is known). */
export function limiter(inFlight = IN_FLIGHT): <R>(task: () => Promise<R>) => Promise<R> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= inFlight) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** Executes a pipeline; the first failed command fails the whole batch. */
export async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const replies = await pipeline.exec();
  if (replies === null) throw new Error("pipeline aborted");
  return replies.map(([err, value]) => {
    if (err !== null) throw err;
    return value;
  });
}
