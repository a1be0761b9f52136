/**
 * The lifetime of one pooled request: its deadline and the caller's signal
 * combined into one signal, and undone the moment the request is over. (An
 * `AbortSignal.timeout` per request would keep a timer and a signal alive for
 * the whole deadline — ten minutes by default — long after the answer.)
 */
export class RequestScope {
  readonly #controller = new AbortController();
  readonly #caller: AbortSignal | null;
  readonly #timer: NodeJS.Timeout;
  #deadlineHit = false;
  #onCallerAbort: (() => void) | null = null;

  constructor(deadlineMs: number, caller: AbortSignal | null) {
    this.#caller = caller;
    this.#timer = setTimeout(() => {
      this.#deadlineHit = true;
      this.#controller.abort(new DOMException(`deadline of ${deadlineMs} ms reached`, "TimeoutError"));
    }, deadlineMs);
    this.#timer.unref();
    if (caller !== null) {
      if (caller.aborted) this.#controller.abort(caller.reason);
      else {
        this.#onCallerAbort = () => this.#controller.abort(caller.reason);
        caller.addEventListener("abort", this.#onCallerAbort, { once: true });
      }
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  deadlineHit(): boolean {
    return this.#deadlineHit;
  }

  /** The request is over: no timer, no listener left behind. */
  dispose(): void {
    clearTimeout(this.#timer);
    if (this.#onCallerAbort !== null) {
      this.#caller!.removeEventListener("abort", this.#onCallerAbort);
      this.#onCallerAbort = null;
    }
  }
}
