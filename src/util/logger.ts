/**
 * Structured JSON logs (pino). Secrets never reach a log line: known secret
 * fields are redacted by path, and error messages pass through the scrubber
 * that masks anything key-like.
 */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { LineBatch } from "./line-batch.ts";
import { scrubSecrets } from "./scrub.ts";

export type { Logger } from "pino";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Paths whose values are secrets wherever they appear in a log object. */
const REDACT = [
  "secret",
  "token",
  "apiKey",
  "adminToken",
  "secretKey",
  "authorization",
  "*.secret",
  "*.token",
  "*.apiKey",
  "*.adminToken",
  "*.secretKey",
  "*.authorization",
  "headers.authorization",
  "headers.cookie",
  "headers[\"api-key\"]",
  "req.headers.authorization",
  "req.headers.cookie",
];

/** An error as a log field: its name, code and message, scrubbed of anything key-like. */
function errSerializer(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: scrubSecrets(String(err)) };
  const out: Record<string, unknown> = { type: err.name, message: scrubSecrets(err.message) };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") out.code = code;
  if (err.stack !== undefined) out.stack = scrubSecrets(err.stack);
  return out;
}

let exiting = false;
let watching = false;
const batches = new Set<LineBatch>();
const drainBatches = (): void => {
  for (const b of batches) b.drain();
};

/**
 * Registered before pino's own exit flush, so that flush knows the process is leaving and finds
 * the batched lines already handed to it.
 */
function watchExit(): void {
  if (watching) return;
  watching = true;
  process.once("exit", () => {
    exiting = true;
    drainBatches();
  });
  process.on("beforeExit", drainBatches);
}

export interface LoggerSetup {
  level?: LogLevel;
  /** Where lines go (default: stdout, buffered, flushed on exit). */
  destination?: DestinationStream;
  /** Fields on every line (e.g. `{ instance }`). */
  base?: Record<string, unknown>;
}

export function createLogger(setup: LoggerSetup = {}): Logger {
  const options: LoggerOptions = {
    level: setup.level ?? "info",
    base: setup.base ?? null,
    redact: { paths: REDACT, censor: "[redacted]" },
    serializers: { err: errSerializer, error: errSerializer },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (setup.destination !== undefined) return pino(options, setup.destination);
  watchExit();
  // Buffered (a write per 12 KB, not per line: each write wakes the reader of the pipe, and under
  // load the request log's writes were a few per cent of the gateway's CPU), flushed every second
  // and at exit; a SIGKILL loses at most that second's lines. If nobody reads
  // stdout, lines past 8 MB are dropped (memory stays bounded) and the exit does not wait for a
  // reader that never comes (sonic-boom would retry a full pipe forever).
  const dest = pino.destination({
    dest: 1,
    sync: false,
    minLength: 0, // the batching is LineBatch's
    maxLength: 8 * 1024 * 1024,
    retryEAGAIN: () => !exiting,
  });
  const batch = new LineBatch(dest, { minLength: 12 * 1024, flushEveryMs: 1000 }); // below sonic-boom's maxWrite (16 KB)
  batches.add(batch);
  return pino(options, batch);
}

/** A logger that writes nothing (library use, tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
