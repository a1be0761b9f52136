/**
 * The live view behind `/admin/stats` and `/admin/live`: requests and errors
 * per second over the last minute, in a ring of one-second buckets (the
 * server records `/v1` requests only).
 */
const SPAN = 60;

export interface LiveSnapshot {
  time: number;
  uptimeS: number;
  inflight: number;
  requests: { total: number; errors: number; lastMinute: number; errorsLastMinute: number; perSecond: number; errorRate: number };
  /** Requests and errors (answers with status 400 or above) per second, oldest first, the current second last. */
  series: { t: number; requests: number; errors: number }[];
}

export class LiveStats {
  readonly #requests = new Uint32Array(SPAN);
  readonly #errors = new Uint32Array(SPAN);
  readonly #seconds = new Float64Array(SPAN);
  readonly #started = Date.now();
  total = 0;
  errors = 0;

  record(status: number, now: number = Date.now()): void {
    const sec = Math.floor(now / 1000);
    const i = sec % SPAN;
    if (this.#seconds[i] !== sec) {
      this.#seconds[i] = sec;
      this.#requests[i] = 0;
      this.#errors[i] = 0;
    }
    this.#requests[i]!++;
    this.total++;
    if (status >= 400) {
      this.#errors[i]!++;
      this.errors++;
    }
  }

  snapshot(inflight: number, now: number = Date.now()): LiveSnapshot {
    const sec = Math.floor(now / 1000);
    const series: LiveSnapshot["series"] = [];
    let req = 0;
    let err = 0;
    for (let s = sec - SPAN + 1; s <= sec; s++) {
      const i = s % SPAN;
      const fresh = this.#seconds[i] === s;
      const r = fresh ? this.#requests[i]! : 0;
      const e = fresh ? this.#errors[i]! : 0;
      series.push({ t: s * 1000, requests: r, errors: e });
      if (s < sec) {
        req += r;
        err += e;
      }
    }
    // The current second is partial: rates use the SPAN-1 full seconds before it.
    return {
      time: now,
      uptimeS: Math.round((now - this.#started) / 1000),
      inflight,
      requests: {
        total: this.total,
        errors: this.errors,
        lastMinute: req,
        errorsLastMinute: err,
        perSecond: Math.round((req / (SPAN - 1)) * 100) / 100,
        errorRate: req === 0 ? 0 : Math.round((err / req) * 10_000) / 10_000,
      },
      series,
    };
  }
}
