import type { KeyBehaviour } from "../spec/key-behaviour.ts";
import { RateLimiter } from "./rate-limiter.ts";
import { copyStats, countStatus, emptyStats, type CredentialStats } from "./stats.ts";
import { utcDay } from "./day.ts";

const DAY_S = 86_400;

/** What `GET /_sim/keys/:key` and `Simulator.keys()` show of a key. */
export interface KeyView {
  key: string;
  behaviour: string;
  limit_usd: number;
  used_usd: number;
  access_until: number;
  /** Usage reached the limit: API calls answer 429 insufficient_quota. */
  quota_reached: boolean;
  stats: CredentialStats;
}

/** The live state of one simulated API key. */
export class KeyState {
  readonly key: string;
  behaviour!: KeyBehaviour;
  limiter!: RateLimiter;
  limitUsd = 0;
  usedUsd = 0;
  /** Unix seconds. */
  accessUntil = 0;
  stats: CredentialStats = emptyStats();
  /** Spending by UTC day, then by line item (model), in USD. */
  readonly daily = new Map<string, Map<string, number>>();
  /** Ids of stored Responses API answers → their context tokens, for `previous_response_id`. */
  readonly responses = new Map<string, number>();
  #answered = 0;
  #exhaustRequests = 0;
  #exhaustTokens = 0;
  /** `/v1/models` body for an allow-listed key, built once. */
  modelsBody: string | null = null;

  constructor(key: string, behaviour: KeyBehaviour) {
    this.key = key;
    this.setBehaviour(behaviour);
  }

  /** Changes the behaviour: billing, limits and counters start over; stats stay. */
  setBehaviour(behaviour: KeyBehaviour): void {
    this.behaviour = behaviour;
    this.limiter = new RateLimiter(behaviour.rpm, behaviour.tpm, behaviour.windowMs);
    this.limitUsd = behaviour.limitUsd;
    this.daily.clear();
    this.usedUsd = 0;
    if (behaviour.usedUsd > 0) this.#charge(behaviour.usedUsd, "usage");
    const nowS = Math.floor(Date.now() / 1000);
    this.accessUntil = behaviour.name === "expired" ? nowS - 7 * DAY_S : nowS + 365 * DAY_S;
    this.#answered = 0;
    this.#exhaustRequests = 0;
    this.#exhaustTokens = 0;
    this.modelsBody = null;
  }

  get quotaReached(): boolean {
    return this.usedUsd >= this.limitUsd;
  }

  /** Raises the hard limit; an exhausted key gets its allowance again. */
  topUp(usd: number): void {
    this.limitUsd += usd;
    this.#exhaustRequests = 0;
    this.#exhaustTokens = 0;
  }

  spend(usd: number): void {
    this.#charge(usd, "spend");
  }

  #charge(usd: number, item: string): void {
    this.usedUsd += usd;
    const day = utcDay();
    let items = this.daily.get(day);
    if (!items) {
      items = new Map();
      this.daily.set(day, items);
    }
    items.set(item, (items.get(item) ?? 0) + usd);
  }

  /** `flaky`: the status to fail this request with, or 0. Spread evenly: exactly `rate` of requests fail. */
  nextFault(): number {
    const { rate, statuses } = this.behaviour;
    const n = this.#answered++;
    if (Math.floor((n + 1) * rate) <= Math.floor(n * rate)) return 0;
    return statuses[Math.floor(n * rate) % statuses.length]!;
  }

  /** A successful call: tokens, cost, and the `exhausts` countdown. */
  recordUsage(model: string, promptTokens: number, completionTokens: number, costUsd: number): void {
    const s = this.stats;
    s.prompt_tokens += promptTokens;
    s.completion_tokens += completionTokens;
    s.total_tokens += promptTokens + completionTokens;
    this.#charge(costUsd, model);
    const b = this.behaviour;
    if (b.name !== "exhausts") return;
    this.#exhaustRequests += 1;
    this.#exhaustTokens += promptTokens + completionTokens;
    const out =
      (b.requests !== null && this.#exhaustRequests >= b.requests) || (b.tokens !== null && this.#exhaustTokens >= b.tokens);
    if (out && this.usedUsd < this.limitUsd) this.#charge(this.limitUsd - this.usedUsd, "usage");
  }

  recordStatus(status: number | "reset" | "hang"): void {
    countStatus(this.stats, status);
  }

  view(): KeyView {
    return {
      key: this.key,
      behaviour: this.behaviour.text,
      limit_usd: round(this.limitUsd),
      used_usd: round(this.usedUsd),
      access_until: this.accessUntil,
      quota_reached: this.quotaReached,
      stats: copyStats(this.stats),
    };
  }
}

function round(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
