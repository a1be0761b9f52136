import { NotFoundError, ValidationError } from "../../errors/index.ts";
import type { SimContext } from "../context.ts";
import type { KeyView } from "../keys/key-state.ts";
import type { CredentialStats } from "../keys/stats.ts";
import type { RequestLogEntry } from "../request-log.ts";
import type { BehaviourSpec } from "../spec/key-behaviour.ts";
import type { SessionSpec } from "../spec/session-behaviour.ts";
import type { SessionView } from "../web/session-state.ts";

function amount(usd: unknown): number {
  if (typeof usd !== "number" || !Number.isFinite(usd) || usd <= 0) {
    throw new ValidationError(`usd: must be a positive number, got ${JSON.stringify(usd) ?? "nothing"}`, "usd");
  }
  return usd;
}

/**
 * Run-time control of a simulator, shared by the library (`Simulator`) and
 * the `/_sim/` routes. Errors are keypool errors: ValidationError (400) and
 * NotFoundError (404).
 */
export class SimControl {
  readonly #ctx: SimContext;

  constructor(ctx: SimContext) {
    this.#ctx = ctx;
  }

  #key(key: string) {
    const state = this.#ctx.keys.get(key);
    if (state === undefined) throw new NotFoundError("key", key);
    return state;
  }

  #session(idOrToken: string) {
    const session = this.#ctx.sessions.find(idOrToken);
    if (session === undefined) throw new NotFoundError("session", idOrToken);
    return session;
  }

  keys(): KeyView[] {
    return this.#ctx.keys.list().map((k) => k.view());
  }

  key(key: string): KeyView {
    return this.#key(key).view();
  }

  /** Creates the key or changes its behaviour (billing and limits start over, stats stay). */
  setKey(key: string, behaviour: string | BehaviourSpec): KeyView {
    if (key === "") throw new ValidationError("key: must not be empty", "key");
    return this.#ctx.keys.set(key, behaviour).view();
  }

  /** Raises the key's billing limit by `usd`; a quota or exhausted key answers again. */
  topUp(key: string, usd: number): KeyView {
    const state = this.#key(key);
    state.topUp(amount(usd));
    return state.view();
  }

  /** Adds `usd` to the key's usage (it may reach the limit: quota). */
  spend(key: string, usd: number): KeyView {
    const state = this.#key(key);
    state.spend(amount(usd));
    return state.view();
  }

  stats(key: string): CredentialStats {
    return this.#key(key).view().stats;
  }

  allStats(): Record<string, CredentialStats> {
    const out: Record<string, CredentialStats> = {};
    for (const view of this.keys()) out[view.key] = view.stats;
    return out;
  }

  requests(key?: string, limit?: number): RequestLogEntry[] {
    return this.#ctx.log.list(key, limit).map((e) => ({ ...e }));
  }

  sessions(): SessionView[] {
    return this.#ctx.sessions.list().map((s) => s.view());
  }

  session(idOrToken: string): SessionView {
    return this.#session(idOrToken).view();
  }

  setSession(idOrToken: string, behaviour: string | SessionSpec): SessionView {
    if (idOrToken === "") throw new ValidationError("session: must not be empty", "session");
    return this.#ctx.sessions.set(idOrToken, behaviour).view();
  }

  /** Back to the configuration the simulator started with: keys, sessions, counters, log. */
  reset(): void {
    this.#ctx.keys.reset();
    this.#ctx.sessions.reset();
    this.#ctx.log.clear();
  }
}
