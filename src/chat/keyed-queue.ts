/**
 * Runs tasks one at a time per key, in the order they were queued; different
 * keys run side by side. Used for "one message at a time per conversation"
 * and "one message at a time per web account". A waiting task whose signal
 * fires leaves the queue without running; the tasks behind it move up.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();

  /** Tasks queued or running under a key. */
  #counts = new Map<string, number>();

  run<T>(key: string, task: () => Promise<T>, signal?: AbortSignal | null): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    // The next task waits for this one and everything before it, even if this one leaves early.
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    const finish = (): void => {
      done();
      const left = (this.#counts.get(key) ?? 1) - 1;
      if (left === 0) {
        this.#counts.delete(key);
        this.#tails.delete(key);
      } else this.#counts.set(key, left);
    };
    return waitTurn(previous, signal).then(
      async () => {
        try {
          return await task();
        } finally {
          finish();
        }
      },
      (err: unknown) => {
        // Left the queue before its turn; the ones behind still wait for `previous`.
        void previous.then(finish);
        throw err;
      },
    );
  }

  /** Tasks queued or running under `key`. */
  pending(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
}

function waitTurn(previous: Promise<void>, signal: AbortSignal | null | undefined): Promise<void> {
  if (signal == null) return previous;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    void previous.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}
