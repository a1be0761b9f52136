/**
 * The health checker: a background job that probes credentials and moves
 * them (re-activate what recovered, quarantine or retire what is dead).
 * Non-active keys are probed every round, active ones every Nth. With many
 * instances on one store, a lease makes sure one runs a round at a time.
 */
import type { Pool } from "../pool.ts";
import type { CredentialKind, CredentialRecord, CredentialState } from "../types.ts";
import { planForProbe, type ProbeReport } from "./verdict.ts";

export type ProbeFn = (record: CredentialRecord) => Promise<ProbeReport>;

export interface ProbeResult {
  id: string;
  key: string;
  before: CredentialState;
  after: CredentialState | "removed";
  /** What the probe found, in words. */
  finding: string;
  error?: string;
}

export interface RoundOptions {
  /** Probe just these ids (any state). */
  ids?: readonly string[];
  onProgress?: (done: number, total: number, result: ProbeResult) => void;
}

export interface CheckerOptions {
  intervalMs: number;
  activeEvery: number;
  concurrency: number;
}

const LEASE = "health-check";

export class HealthChecker {
  readonly #pool: Pool;
  readonly #probes: Partial<Record<CredentialKind, ProbeFn>>;
  readonly #opts: CheckerOptions;
  #timer: NodeJS.Timeout | undefined;
  #round = 0;
  #running: Promise<ProbeResult[]> | null = null;

  constructor(pool: Pool, probes: Partial<Record<CredentialKind, ProbeFn>>, opts: CheckerOptions) {
    this.#pool = pool;
    this.#probes = probes;
    this.#opts = opts;
  }

  /** Adds (or replaces) the probe for a kind of credential: backends register their own. */
  register(kind: CredentialKind, probe: ProbeFn): void {
    this.#probes[kind] = probe;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.#scheduled(), this.#opts.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #scheduled(): Promise<void> {
    if (this.#running !== null) return;
    const owner = this.#pool.config.instance;
    try {
      if (!(await this.#pool.store.leases.acquire(LEASE, owner, this.#opts.intervalMs * 2))) return;
    } catch {
      return; // store unreachable: try next round
    }
    this.#round++;
    const withActive = this.#round % this.#opts.activeEvery === 0;
    const ids = this.#pool
      .list()
      .filter((v) => v.state === "cooling" || v.state === "quarantined" || (withActive && v.state === "active"))
      .map((v) => v.id);
    await this.run({ ids }).catch(() => {});
  }

  /** Runs one round now: every non-retired, non-disabled key, or the ids given. */
  async run(opts: RoundOptions = {}): Promise<ProbeResult[]> {
    while (this.#running !== null) await this.#running.catch(() => {});
    const job = this.#probeAll(opts);
    this.#running = job;
    try {
      return await job;
    } finally {
      this.#running = null;
    }
  }

  async #probeAll(opts: RoundOptions): Promise<ProbeResult[]> {
    const targets = (opts.ids ?? this.#pool.list().filter((v) => v.state !== "retired" && v.state !== "disabled").map((v) => v.id))
      .map((id) => this.#pool.record(id))
      .filter((r): r is CredentialRecord => r !== undefined && this.#probes[r.kind] !== undefined);
    const results: ProbeResult[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < targets.length) {
        const rec = targets[next++]!;
        const result = await this.#probeOne(rec);
        results.push(result);
        opts.onProgress?.(results.length, targets.length, result);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#opts.concurrency, targets.length) }, worker));
    return results;
  }

  async #probeOne(rec: CredentialRecord): Promise<ProbeResult> {
    const view = this.#pool.get(rec.id);
    const base = { id: rec.id, key: view?.key ?? "…", before: rec.state };
    try {
      const report = await this.#probes[rec.kind]!(rec);
      const current = this.#pool.record(rec.id) ?? rec;
      const plan = planForProbe(current, report, view?.spentUsd ?? current.spentUsd, Date.now());
      if (plan !== null) await this.#pool.apply(current, plan);
      const after = plan === null ? current.state : plan.to;
      return { ...base, after, finding: describe(report, plan?.reason) };
    } catch (err) {
      return { ...base, after: rec.state, finding: "probe failed", error: err instanceof Error ? err.message : String(err) };
    }
  }
}

function describe(r: ProbeReport, change: string | undefined): string {
  const auth = r.auth.kind === "success" ? "answers" : `${r.auth.kind}${r.auth.status === null ? "" : ` (${r.auth.status})`}`;
  const billing = r.billing === null ? "" : `; billing ${r.billing.kind}`;
  const trial = r.trial === undefined ? "" : `; completion ${r.trial.kind === "success" ? "answers" : r.trial.kind}`;
  return `${auth}${billing}${trial}${change === undefined ? "" : ` → ${change}`}`;
}
