/**
 * Metering: one usage record per answered request (credential, client token,
 * model, tokens, cost), written before the client's answer ends, so an
 * acknowledged answer's usage is stored. Records of requests ending in the
 * same turn of the event loop are written together, one store write per
 * batch, which charges each record's client token in the same step; a
 * request alone in flight is written at once.
 */
import type { Pool } from "../../pool/pool.ts";
import { costAt, priceOf } from "../../pool/prices.ts";
import type { UsageRecord } from "../../pool/types.ts";
import type { Logger } from "../../util/logger.ts";
import { timeOrderedId } from "../../util/ids.ts";
import type { Caller, ClientAuth } from "../auth/client-auth.ts";
import type { GatewayMetrics } from "../metrics.ts";

interface Pending {
  record: UsageRecord;
  caller: Caller;
  resolve: () => void;
}

export class Meter {
  readonly #pool: Pool;
  readonly #auth: ClientAuth;
  readonly #metrics: GatewayMetrics;
  readonly #log: Logger;
  #batch: Pending[] = [];
  /** Models already reported as having no price (once each per process; bounded). */
  readonly #unpriced = new Set<string>();
  #scheduled = false;
  readonly #flush = (): void => void this.#write();

  constructor(pool: Pool, auth: ClientAuth, metrics: GatewayMetrics, log: Logger) {
    this.#pool = pool;
    this.#auth = auth;
    this.#metrics = metrics;
    this.#log = log;
  }

  /** Records one request's usage; resolves once stored (or queued by the pool for a store that is down). */
  record(credentialId: string, caller: Caller, model: string | null, promptTokens: number, completionTokens: number, estimated = false): Promise<void> {
    const now = Date.now();
    const name = model ?? "unknown";
    const price = priceOf(name, this.#pool.config.prices);
    const cost = costAt(price, promptTokens, completionTokens);
    if (price === null && promptTokens + completionTokens > 0) this.#warnUnpriced(name);
    this.#metrics.metered(promptTokens, completionTokens, cost, estimated);
    const record: UsageRecord = {
      id: timeOrderedId("use", now),
      time: now,
      credentialId,
      tokenId: caller === null ? null : caller.token!.id,
      model: name,
      promptTokens,
      completionTokens,
      costUsd: cost,
      estimated,
    };
    return new Promise<void>((resolve) => {
      this.#batch.push({ record, caller, resolve });
      if (this.#scheduled) return;
      // Alone in flight: nothing would join a batch, so it is written now instead of a loop turn later.
      if (this.#metrics.inflight <= 1) void this.#write();
      else {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /** Usage of a model no price table knows costs $0: said once, so budgets and cost figures aren't silently wrong. */
  #warnUnpriced(model: string): void {
    if (this.#unpriced.has(model) || this.#unpriced.size >= 1000) return;
    this.#unpriced.add(model);
    this.#log.warn({ model }, `no price known for model ${model}: its usage is recorded at $0 and counts toward no key's budget; set its price in the config's "prices" (USD per million tokens)`);
  }

  async #write(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    this.#scheduled = false;
    const records = batch.map((p) => p.record);
    // The tokens count at once for this instance's quota checks; the store charges each token with its records.
    for (const p of batch) this.#auth.charge(p.caller, p.record.promptTokens + p.record.completionTokens, p.record.time);
    await this.#pool.recordUsage(records).catch((err: unknown) => this.#log.error({ err, records: records.length }, "usage records not stored"));
    for (const p of batch) p.resolve();
  }
}
