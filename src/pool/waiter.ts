/** Lets requests wait for a credential to free up: woken by any change, bounded by a timeout and the caller's signal. */
export class Waiter {
  readonly #waiting = new Set<() => void>();

  get size(): number {
    return this.#waiting.size;
  }

  notify(): void {
    if (this.#waiting.size === 0) return;
    const all = [...this.#waiting];
    this.#waiting.clear();
    for (const wake of all) wake();
  }

  /** Resolves after `ms`, on the next notify(), or rejects with the signal's reason. */
  wait(ms: number, signal?: AbortSignal | null): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#waiting.delete(done);
        resolve();
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        this.#waiting.delete(done);
        reject(signal!.reason);
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.add(done);
    });
  }
}
