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

/** Executes a pipeline; the first failed command fails the whole batch. */
export async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const replies = await pipeline.exec();
  if (replies === null) throw new Error("pipeline aborted");
  return replies.map(([err, value]) => {
    if (err !== null) throw err;
    return value;
  });
}
