/**
 * A re-armable timeout that costs no timer operation per arm: arming moves a
 * deadline, and the one pending timer, when it fires, either expires or sleeps
 * until the deadline. (A cleared Node timer can't be refreshed, and clearing
 * and creating one per request and per body chunk is what this avoids.)
 */
export class Deadline {
  readonly #onExpire: () => void;
  /** When it expires (ms since epoch); 0 when disarmed. */
  #at = 0;
  #timer: NodeJS.Timeout | null = null;
  /** When the pending timer fires. */
  #timerAt = 0;

  constructor(onExpire: () => void) {
    this.#onExpire = onExpire;
  }

  arm(ms: number): void {
    const at = Date.now() + ms;
    this.#at = at;
    if (this.#timer !== null && this.#timerAt <= at) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#schedule(at, ms);
  }

  disarm(): void {
    this.#at = 0;
  }

  /** No timer left pending (the owner is gone). */
  stop(): void {
    this.#at = 0;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(at: number, ms: number): void {
    this.#timerAt = at;
    this.#timer = setTimeout(this.#fire, ms);
    this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = null;
    if (this.#at === 0) return;
    const left = this.#at - Date.now();
    if (left > 0) {
      this.#schedule(this.#at, left);
      return;
    }
    // Not yet: timers run before the loop reads its sockets, so after a stall (a busy loop, a
    // descheduled process) the answer may be waiting unread. It is read first; then, if nothing
    // moved the deadline, the time is up.
    setImmediate(this.#confirm, this.#at);
  };

  readonly #confirm = (at: number): void => {
    if (this.#at !== at) return;
    this.#at = 0;
    this.#onExpire();
  };
}
