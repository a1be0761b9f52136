/**
 * The gateway's busy-poll window (`busyPollUs`, off by default): after a
 * request starts and after it ends, the event loop keeps polling its sockets
 * for that long instead of blocking in epoll, through a chain of
 * `setImmediate`s (libuv polls without waiting while one is pending). On a
 * virtual machine a vCPU whose process blocked halts, and waking it for the
 * next packet (the upstream's answer, the client's next request) goes through
 * the hypervisor: at one connection that was about half of the gateway's
 * added latency here (README, Benchmarks). The price is CPU: up to the
 * window for every gap in the traffic, so a steady trickle of requests keeps
 * a core busy. Under load the loop never waits and the window costs nothing.
 */
export class BusyPoll {
  readonly #windowMs: number;
  #until = 0;
  #polling = false;
  #stopped = false;
  #turns = 0;

  readonly #turn = (): void => {
    if (!this.#stopped && performance.now() < this.#until) {
      this.#turns++;
      setImmediate(this.#turn);
    } else this.#polling = false;
  };

  /** `windowUs`: microseconds of polling after each touch; 0 turns it off. */
  constructor(windowUs: number) {
    this.#windowMs = windowUs / 1000;
  }

  /** Turns of the loop it has kept polling, all told. */
  get turns(): number {
    return this.#turns;
  }

  /** Whether the loop is being kept polling now. */
  get polling(): boolean {
    return this.#polling;
  }

  /** Traffic: the loop polls until the window after now has passed. */
  touch(): void {
    if (this.#windowMs === 0 || this.#stopped) return;
    this.#until = performance.now() + this.#windowMs;
    if (this.#polling) return;
    this.#polling = true;
    setImmediate(this.#turn);
  }

  /** No more polling (shutdown): the chain ends at its next turn. */
  stop(): void {
    this.#stopped = true;
  }
}
