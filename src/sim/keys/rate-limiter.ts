import { formatDuration } from "../http/duration.ts";
import type { HeaderList } from "../http/respond.ts";
import { rateLimited, requestTooLarge, type SimAnswer } from "../openai/errors.ts";
import { SlidingWindow } from "./sliding-window.ts";

/** A window's time to reset as OpenAI formats it, reformatted only when the millisecond changes. */
class ResetText {
  readonly window: SlidingWindow;
  #ms = -1;
  #text = "0s";

  constructor(window: SlidingWindow) {
    this.window = window;
  }

  at(now: number): string {
    const ms = Math.ceil(this.window.resetMs(now));
    if (ms !== this.#ms) {
      this.#ms = ms;
      this.#text = formatDuration(ms);
    }
    return this.#text;
  }
}

/** One model's windows, with the last formatted reset times (many requests share a millisecond). */
class ModelWindows {
  readonly requests: SlidingWindow;
  readonly tokens: SlidingWindow;
  readonly #requestReset: ResetText;
  readonly #tokenReset: ResetText;

  constructor(rpm: number, tpm: number, windowMs: number) {
    this.requests = new SlidingWindow(rpm, windowMs);
    this.tokens = new SlidingWindow(tpm, windowMs);
    this.#requestReset = new ResetText(this.requests);
    this.#tokenReset = new ResetText(this.tokens);
  }

  requestReset(now: number): string {
    return this.#requestReset.at(now);
  }

  tokenReset(now: number): string {
    return this.#tokenReset.at(now);
  }
}

/** Per-model RPM and TPM windows of one key, and the `x-ratelimit-*` headers they produce. */
export class RateLimiter {
  readonly rpm: number;
  readonly tpm: number;
  readonly windowMs: number;
  readonly #models = new Map<string, ModelWindows>();
  readonly #rpmText: string;
  readonly #tpmText: string;

  constructor(rpm: number, tpm: number, windowMs: number) {
    this.rpm = rpm;
    this.tpm = tpm;
    this.windowMs = windowMs;
    this.#rpmText = String(rpm);
    this.#tpmText = String(tpm);
  }

  #windows(model: string): ModelWindows {
    let w = this.#models.get(model);
    if (!w) {
      w = new ModelWindows(this.rpm, this.tpm, this.windowMs);
      this.#models.set(model, w);
    }
    return w;
  }

  #push(out: HeaderList, w: ModelWindows, now: number): void {
    out.push(
      "x-ratelimit-limit-requests",
      this.#rpmText,
      "x-ratelimit-limit-tokens",
      this.#tpmText,
      "x-ratelimit-remaining-requests",
      String(Math.max(0, this.rpm - w.requests.sum)),
      "x-ratelimit-remaining-tokens",
      String(Math.max(0, this.tpm - w.tokens.sum)),
      "x-ratelimit-reset-requests",
      w.requestReset(now),
      "x-ratelimit-reset-tokens",
      w.tokenReset(now),
    );
  }

  /** Adds the current headers to `out` without counting anything. */
  headers(model: string, now: number, out: HeaderList): void {
    const w = this.#models.get(model);
    if (w === undefined) {
      out.push(
        "x-ratelimit-limit-requests",
        this.#rpmText,
        "x-ratelimit-limit-tokens",
        this.#tpmText,
        "x-ratelimit-remaining-requests",
        this.#rpmText,
        "x-ratelimit-remaining-tokens",
        this.#tpmText,
        "x-ratelimit-reset-requests",
        "0s",
        "x-ratelimit-reset-tokens",
        "0s",
      );
      return;
    }
    w.requests.advance(now);
    w.tokens.advance(now);
    this.#push(out, w, now);
  }

  /**
   * Counts a request of `tokens` tokens and adds the headers to `out`; or
   * refuses it as OpenAI would (null when admitted).
   */
  admit(model: string, tokens: number, now: number, out: HeaderList): SimAnswer | null {
    const w = this.#windows(model);
    w.requests.advance(now);
    w.tokens.advance(now);
    if (tokens > this.tpm) return this.#refuse(requestTooLarge(model, this.tpm, tokens), w, now, 0, out);
    const requestWait = w.requests.waitFor(now, 1);
    if (requestWait > 0) {
      const answer = rateLimited(model, "requests", this.rpm, w.requests.sum, 1, requestWait);
      return this.#refuse(answer, w, now, requestWait, out);
    }
    const tokenWait = w.tokens.waitFor(now, tokens);
    if (tokenWait > 0) {
      const answer = rateLimited(model, "tokens", this.tpm, w.tokens.sum, tokens, tokenWait);
      return this.#refuse(answer, w, now, tokenWait, out);
    }
    w.requests.add(now, 1);
    w.tokens.add(now, tokens);
    this.#push(out, w, now);
    return null;
  }

  #refuse(answer: SimAnswer, w: ModelWindows, now: number, waitMs: number, out: HeaderList): SimAnswer {
    this.#push(out, w, now);
    if (waitMs > 0) out.push("retry-after", String(Math.ceil(waitMs / 1000)), "retry-after-ms", String(Math.ceil(waitMs)));
    return answer;
  }
}
