import { createRequire } from "node:module";

/** What one load run measured. */
export interface LoadResult {
  /** Requests per second over the run. */
  readonly rps: number;
  /** Latency percentiles in ms (whole ms from autocannon's histogram unless `fine`). */
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  /** Connection errors and timeouts. */
  readonly errors: number;
  readonly non2xx: number;
  /** Response bytes per second. */
  readonly bytesPerSec: number;
}

export interface LoadOptions {
  readonly url: string;
  readonly method?: "GET" | "POST";
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Default 64. */
  readonly connections?: number;
  /** Seconds; default 5. */
  readonly duration?: number;
  /**
   * Percentiles from every response's own latency (sub-millisecond) rather than autocannon's
   * histogram, which keeps whole milliseconds: too coarse for a budget of a fraction of one.
   */
  readonly fine?: boolean;
}

interface AutocannonResult {
  /** Seconds. */
  duration: number;
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  throughput: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(event: "response", fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (options: Record<string, unknown>) => AutocannonInstance;

/** The q-quantile of ascending values. */
export const pct = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

/** The median of values in any order. */
export const median = (xs: readonly number[]): number => pct(xs.toSorted((a, b) => a - b), 0.5);

// autocannon ships no types; this is the part of its API we use.
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

/** Runs autocannon against one URL and keeps the figures that matter. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const instance = autocannon({
    url: options.url,
    method: options.method ?? "GET",
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
    connections: options.connections ?? 64,
    duration: options.duration ?? 5,
    pipelining: 1,
  });
  const latencies: number[] = [];
  if (options.fine === true) instance.on("response", (_c, _s, _b, ms) => latencies.push(ms));
  const r = await instance;
  latencies.sort((a, b) => a - b);
  return {
    // Total over time: per-second averages are coarse for short runs.
    rps: r.duration > 0 ? r.requests.total / r.duration : 0,
    p50: options.fine === true ? pct(latencies, 0.5) : r.latency.p50,
    p99: options.fine === true ? pct(latencies, 0.99) : r.latency.p99,
    requests: r.requests.total,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    bytesPerSec: r.throughput.average,
  };
}
