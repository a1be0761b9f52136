/**
 * Client load for the proof scenarios: workers that call in a loop until
 * stopped, every call recorded (when it started and ended, what it was
 * answered, the tokens the answer's usage counted, or the error it raised),
 * so a scenario can say what was acknowledged, what was in flight at a
 * fault, and how long each in-flight call took to fail.
 */
import { errorOf } from "./gateway.ts";

export interface CallRecord {
  /** The worker's group (a client token's name, "stream", ...). */
  group: string;
  started: number;
  ended: number | null;
  ok: boolean | null;
  /** Prompt + completion tokens of the answer's usage (0 when none). */
  tokens: number;
  error: { status: number; code: string | null; message: string } | null;
}

export class Load {
  readonly calls: CallRecord[] = [];
  #stopped = false;
  readonly #workers: Promise<void>[] = [];
  /** Every scenario is bounded: no worker starts a call past this many. */
  readonly maxCalls: number;

  constructor(maxCalls = 5000) {
    this.maxCalls = maxCalls;
  }

  /** Starts a worker calling `fn` (which resolves with the answer's token count) until stop(). */
  worker(group: string, fn: (i: number) => Promise<number>, pauseMs = 0): void {
    this.#workers.push(
      (async () => {
        for (let i = 0; !this.#stopped && this.calls.length < this.maxCalls; i++) {
          const c = await this.call(group, () => fn(i));
          // After an error, a breath: a dead gateway answers refusals as fast as they are asked.
          const pause = c.ok === true ? pauseMs : Math.max(pauseMs, 25);
          if (pause > 0 && !this.#stopped) await new Promise((r) => setTimeout(r, pause));
        }
      })(),
    );
  }

  /** One recorded call; resolves with its record (never rejects). */
  async call(group: string, fn: () => Promise<number>): Promise<CallRecord> {
    const c: CallRecord = { group, started: performance.now(), ended: null, ok: null, tokens: 0, error: null };
    this.calls.push(c);
    try {
      c.tokens = await fn();
      c.ok = true;
    } catch (err) {
      c.ok = false;
      c.error = errorOf(err);
    } finally {
      c.ended = performance.now();
    }
    return c;
  }

  /** No new calls; the ones running finish. */
  stop(): void {
    this.#stopped = true;
  }

  /** Resolves when every worker has ended (after stop()). */
  async done(): Promise<void> {
    await Promise.all(this.#workers);
  }

  get inflight(): CallRecord[] {
    return this.calls.filter((c) => c.ended === null);
  }

  answered(group?: string): CallRecord[] {
    return this.calls.filter((c) => c.ok === true && (group === undefined || c.group === group));
  }

  failed(group?: string): CallRecord[] {
    return this.calls.filter((c) => c.ok === false && (group === undefined || c.group === group));
  }

  /** Tokens of the answered calls of a group. */
  tokens(group?: string): number {
    return this.answered(group).reduce((n, c) => n + c.tokens, 0);
  }
}
