/**
 * Prometheus metrics (prom-client, a registry of our own). Label values are
 * fixed sets (route names, statuses, states, outcome kinds): never a path a
 * client sent, never a key. The per-request counters are plain numbers the
 * registry reads at scrape time (prom-client hashes and validates the labels on
 * every `inc`, even through a bound child): the request path pays one map lookup.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Pool } from "../pool/pool.ts";
import { CREDENTIAL_STATES, type AuditEvent } from "../pool/types.ts";

type Inc = { inc(n?: number): void };
type Observe = { observe(v: number): void };

/** Counts per label set, kept here and handed to a prom-client Counter when it is scraped. */
class Tally<L extends string> {
  readonly #counts = new Map<string, { labels: Partial<Record<L, string>>; value: number }>();

  constructor(counter: Counter<L>) {
    const counts = this.#counts;
    // prom-client calls `collect` with the counter as `this` before each scrape reads it.
    (counter as unknown as { collect: () => void }).collect = function (this: Counter<L>) {
      this.reset();
      for (const c of counts.values()) this.inc(c.labels, c.value);
    };
  }

  add(key: string, labels: () => Partial<Record<L, string>>, n = 1): void {
    const c = this.#counts.get(key);
    if (c === undefined) this.#counts.set(key, { labels: labels(), value: n });
    else c.value += n;
  }
}

const PROMPT = (): { kind: string } => ({ kind: "prompt" });
const COMPLETION = (): { kind: string } => ({ kind: "completion" });

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #latency: Histogram<"route">;
  readonly #retries: Counter<"outcome">;
  readonly #failovers: Counter;
  readonly #transitions: Counter<"from" | "to">;
  readonly #estimated: Counter;
  readonly #cost: Counter;
  readonly #inflight: Gauge;
  readonly #requestTally: Tally<"route" | "status" | "credential_state">;
  readonly #tokenTally: Tally<"kind">;
  #costTotal = 0;
  readonly #boundLatency = new Map<string, Observe>();
  readonly #boundRetries = new Map<string, Inc>();
  inflight = 0;

  constructor(pool: Pool, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const requests = new Counter({
      name: "keypool_http_requests_total",
      help: "Requests answered, by route, status, and the state of the credential that answered (none: keypool answered itself)",
      labelNames: ["route", "status", "credential_state"],
      registers,
    });
    this.#latency = new Histogram({
      name: "keypool_upstream_latency_seconds",
      help: "Time from the request to the upstream's response headers, all attempts included",
      labelNames: ["route"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#retries = new Counter({ name: "keypool_retries_total", help: "Upstream attempts retried on another credential, by the failed attempt's outcome", labelNames: ["outcome"], registers });
    this.#failovers = new Counter({ name: "keypool_failovers_total", help: "Requests answered by a credential after at least one failed attempt", registers });
    this.#transitions = new Counter({ name: "keypool_state_transitions_total", help: "Credential state changes made by this instance", labelNames: ["from", "to"], registers });
    const tokens = new Counter({ name: "keypool_tokens_metered_total", help: "Tokens metered from upstream usage", labelNames: ["kind"], registers });
    this.#estimated = new Counter({ name: "keypool_usage_estimated_total", help: "Answers that carried no usage, counted with the tokenizer instead (a relay ignoring stream_options shows here)", registers });
    this.#cost = new Counter({
      name: "keypool_cost_usd_total",
      help: "Cost of the metered usage at model prices (USD)",
      registers,
      collect: () => {
        this.#cost.reset();
        this.#cost.inc(this.#costTotal);
      },
    });
    this.#requestTally = new Tally(requests);
    this.#tokenTally = new Tally(tokens);
    this.#inflight = new Gauge({ name: "keypool_inflight_requests", help: "Requests being answered now", registers, collect: () => this.#inflight.set(this.inflight) });
    const keys = new Gauge({
      name: "keypool_credentials",
      help: "Credentials per state",
      labelNames: ["state"],
      registers,
      collect: () => {
        const counts: Record<string, number> = {};
        for (const s of CREDENTIAL_STATES) counts[s] = 0;
        for (const e of pool.index.entries.values()) counts[e.record.state] = (counts[e.record.state] ?? 0) + 1;
        for (const s of CREDENTIAL_STATES) keys.set({ state: s }, counts[s]!);
      },
    });
    const backlog = new Gauge({
      name: "keypool_store_backlog",
      help: "Writes waiting for the store (state writes, usage records)",
      labelNames: ["kind"],
      registers,
      collect: () => {
        const b = pool.backlog;
        backlog.set({ kind: "state" }, b.stateWrites);
        backlog.set({ kind: "usage" }, b.usageRecords);
        backlog.set({ kind: "dropped" }, b.dropped);
      },
    });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "keypool_" });
  }

  request(route: string, status: number, credentialState: string): void {
    this.#requestTally.add(`${route}|${status}|${credentialState}`, () => ({ route, status: String(status), credential_state: credentialState }));
  }

  upstreamLatency(route: string, seconds: number): void {
    let h = this.#boundLatency.get(route);
    if (h === undefined) {
      h = this.#latency.labels(route);
      this.#boundLatency.set(route, h);
    }
    h.observe(seconds);
  }

  retry(outcome: string): void {
    let c = this.#boundRetries.get(outcome);
    if (c === undefined) {
      c = this.#retries.labels(outcome);
      this.#boundRetries.set(outcome, c);
    }
    c.inc();
  }

  failover(): void {
    this.#failovers.inc();
  }

  transition(ev: AuditEvent): void {
    this.#transitions.inc({ from: ev.from ?? "none", to: ev.to ?? "none" });
  }

  metered(prompt: number, completion: number, cost: number, estimated = false): void {
    if (estimated) this.#estimated.inc();
    if (prompt > 0) this.#tokenTally.add("prompt", PROMPT, prompt);
    if (completion > 0) this.#tokenTally.add("completion", COMPLETION, completion);
    if (cost > 0) this.#costTotal += cost;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
