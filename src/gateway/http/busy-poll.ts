/**
 * The gateway's busy-poll window (`busyPollUs`, its most, 500 µs by default):
 * after a request starts and after it ends, the event loop keeps polling its
 * sockets instead of blocking in epoll, through a chain of `setImmediate`s
 * (libuv polls without waiting while one is pending). On a virtual machine a
 * vCPU whose process blocked halts, and waking it for the next packet (the
 * upstream's answer, the client's next request) goes through the hypervisor:
 * at one connection that was about half of the gateway's added latency here
 * (README, Benchmarks).
 *
 * The window adapts to the gaps between requests' starts and ends, as KVM's
 * halt-polling adapts its own (`nextWindowUs`): it grows while gaps short
 * enough for polling to catch come, and shrinks to nothing when they are
 * longer than the most it may poll, as with upstreams that take hundreds of
 * milliseconds. Its CPU is spent only where it buys latency; under load the
 * loop never waits and the window costs nothing.
 */

/**
 * The most the window may grow to unless configured: one request's start to its end through a fast
 * upstream took 100–300 µs on this VM in a slow spell (README, Benchmarks); 200 missed there.
 */
export const DEFAULT_BUSY_POLL_US = 500;

/** The first window once a short gap shows polling would pay (KVM's `halt_poll_ns_grow_start`). */
export const GROW_START_US = 10;

/**
 * The window after a gap of `gapUs` between two touches. A gap inside the window: polling caught
 * it, nothing changes. A gap past the window but within `maxUs`: a longer window would have
 * caught it, so it doubles (from GROW_START_US, up to `maxUs`). A gap past `maxUs`: no window
 * would have, so it halves, to 0 below GROW_START_US.
 */
export function nextWindowUs(windowUs: number, gapUs: number, maxUs: number): number {
  if (gapUs <= windowUs) return windowUs;
  if (gapUs > maxUs) return windowUs / 2 < GROW_START_US ? 0 : windowUs / 2;
  return Math.min(maxUs, Math.max(GROW_START_US, windowUs * 2));
}

export class BusyPoll {
  readonly #maxUs: number;
  readonly #now: () => number;
  #windowUs = 0;
  /** The last touch (ms, the clock's), 0 before the first. */
  #last = 0;
  #until = 0;
  #polling = false;
  #stopped = false;
  #turns = 0;

  readonly #turn = (): void => {
    if (!this.#stopped && this.#now() < this.#until) {
      this.#turns++;
      setImmediate(this.#turn);
    } else this.#polling = false;
  };

  /** `maxUs`: the most microseconds of polling after a touch; 0 turns it off. `now`: a clock in ms (tests). */
  constructor(maxUs: number, now: () => number = () => performance.now()) {
    this.#maxUs = maxUs;
    this.#now = now;
  }

  /** Turns of the loop it has kept polling, all told. */
  get turns(): number {
    return this.#turns;
  }

  /** Whether the loop is being kept polling now. */
  get polling(): boolean {
    return this.#polling;
  }

  /** The window now, in µs: how long the loop polls after the next touch. */
  get windowUs(): number {
    return this.#windowUs;
  }

  /** Traffic: the window learns the gap since the last touch, and the loop polls for the window from now. */
  touch(): void {
    if (this.#maxUs === 0 || this.#stopped) return;
    const now = this.#now();
    if (this.#last !== 0) this.#windowUs = nextWindowUs(this.#windowUs, (now - this.#last) * 1000, this.#maxUs);
    this.#last = now;
    if (this.#windowUs === 0) return;
    this.#until = now + this.#windowUs / 1000;
    if (this.#polling) return;
    this.#polling = true;
    setImmediate(this.#turn);
  }

  /** No more polling (shutdown): the chain ends at its next turn. */
  stop(): void {
    this.#stopped = true;
  }
}
