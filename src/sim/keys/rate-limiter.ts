import { formatDuration } from "../http/duration.ts";
import type { HeaderList } from "../http/respond.ts";
import { rateLimited, requestTooLarge, type SimAnswer } from "../openai/errors.ts";
import { SlidingWindow } from "./sliding-window.ts";

interface ModelWindows {
  readonly requests: SlidingWindow;
  readonly tokens: SlidingWindow;
}

export type Admission = { readonly ok: true; readonly headers: HeaderList } | { readonly ok: false; readonly answer: SimAnswer };

/** Per-model RPM and TPM windows of one key, and the `x-ratelimit-*` headers they produce. */
export class RateLimiter {
  readonly rpm: number;
  readonly tpm: number;
  readonly windowMs: number;
  readonly #models = new Map<string, ModelWindows>();

  constructor(rpm: number, tpm: number, windowMs: number) {
    this.rpm = rpm;
    this.tpm = tpm;
    this.windowMs = windowMs;
  }

  #windows(model: string): ModelWindows {
    let w = this.#models.get(model);
    if (!w) {
      w = { requests: new SlidingWindow(this.rpm, this.windowMs), tokens: new SlidingWindow(this.tpm, this.windowMs) };
      this.#models.set(model, w);
    }
    return w;
  }

  /** The current headers without counting anything. */
  headers(model: string, now = Date.now()): HeaderList {
    const w = this.#models.get(model);
    if (w === undefined) {
      return [
        "x-ratelimit-limit-requests",
        String(this.rpm),
        "x-ratelimit-limit-tokens",
        String(this.tpm),
        "x-ratelimit-remaining-requests",
        String(this.rpm),
        "x-ratelimit-remaining-tokens",
        String(this.tpm),
        "x-ratelimit-reset-requests",
        "0s",
        "x-ratelimit-reset-tokens",
        "0s",
      ];
    }
    return [
      "x-ratelimit-limit-requests",
      String(this.rpm),
      "x-ratelimit-limit-tokens",
      String(this.tpm),
      "x-ratelimit-remaining-requests",
      String(Math.max(0, this.rpm - w.requests.used(now))),
      "x-ratelimit-remaining-tokens",
      String(Math.max(0, this.tpm - w.tokens.used(now))),
      "x-ratelimit-reset-requests",
      formatDuration(w.requests.resetMs(now)),
      "x-ratelimit-reset-tokens",
      formatDuration(w.tokens.resetMs(now)),
    ];
  }

  /** Counts a request of `tokens` tokens, or refuses it as OpenAI would. */
  admit(model: string, tokens: number, now = Date.now()): Admission {
    const w = this.#windows(model);
    if (tokens > this.tpm) return this.#refuse(requestTooLarge(model, this.tpm, tokens), model, now, 0);
    const requestWait = w.requests.waitFor(now, 1);
    if (requestWait > 0) {
      const answer = rateLimited(model, "requests", this.rpm, w.requests.used(now), 1, requestWait);
      return this.#refuse(answer, model, now, requestWait);
    }
    const tokenWait = w.tokens.waitFor(now, tokens);
    if (tokenWait > 0) {
      const answer = rateLimited(model, "tokens", this.tpm, w.tokens.used(now), tokens, tokenWait);
      return this.#refuse(answer, model, now, tokenWait);
    }
    w.requests.add(now, 1);
    w.tokens.add(now, tokens);
    return { ok: true, headers: this.headers(model, now) };
  }

  #refuse(answer: SimAnswer, model: string, now: number, waitMs: number): Admission {
    const headers = this.headers(model, now);
    if (waitMs > 0) headers.push("retry-after", String(Math.ceil(waitMs / 1000)), "retry-after-ms", String(Math.ceil(waitMs)));
    return { ok: false, answer: { ...answer, headers } };
  }
}
