/**
 * The keypool simulator: a local upstream that answers like the OpenAI API
 * and the ChatGPT web backend, with scripted behaviour per key and session.
 *
 * ```ts
 * const sim = await startSimulator({ keys: { "sk-test-000000000001": "rate-limited:rpm=3" } });
 * const client = new OpenAI({ apiKey: "sk-test-000000000001", baseURL: `${sim.url}/v1` });
 * ...
 * await sim.close();
 * ```
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { SimContext } from "./context.ts";
import { SimControl } from "./control/control.ts";
import type { KeyView } from "./keys/key-state.ts";
import { KeyRegistry } from "./keys/registry.ts";
import type { CredentialStats } from "./keys/stats.ts";
import { loadTokenizer } from "./openai/tokens.ts";
import { RequestLog, type RequestLogEntry } from "./request-log.ts";
import type { Scenario, UnknownKeys } from "./scenario.ts";
import { createSimServer } from "./server.ts";
import type { BehaviourSpec } from "./spec/key-behaviour.ts";
import type { SessionSpec } from "./spec/session-behaviour.ts";
import { SessionRegistry } from "./web/registry.ts";
import type { SessionView } from "./web/session-state.ts";

export { KEY_BEHAVIOURS, KEY_TABLE, toKeyBehaviour, type BehaviourSpec, type KeyBehaviourName } from "./spec/key-behaviour.ts";
export { SESSION_BEHAVIOURS, SESSION_TABLE, toSessionBehaviour, type SessionSpec, type SessionBehaviourName } from "./spec/session-behaviour.ts";
export { loadScenario, parseScenario, type Scenario, type UnknownKeys } from "./scenario.ts";
export { formatDuration } from "./http/duration.ts";
export type { KeyView } from "./keys/key-state.ts";
export type { SessionView } from "./web/session-state.ts";
export type { CredentialStats } from "./keys/stats.ts";
export type { RequestLogEntry } from "./request-log.ts";

export interface SimulatorOptions {
  /** Default 0: a free port (the CLI defaults to 8788). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  scenario?: Scenario;
  /** Keys and their behaviour (flag form or object form); they override the scenario's. */
  keys?: Record<string, string | BehaviourSpec>;
  /** Session tokens and their behaviour; they override the scenario's. */
  sessions?: Record<string, string | SessionSpec>;
  /** How keys not configured are answered: `invalid` (401, default) or `ok`. */
  unknownKeys?: UnknownKeys;
}

export interface Simulator {
  /** `http://HOST:PORT`; the OpenAI API is under `${url}/v1`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Closes at once, dropping open and hanging connections. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  /** Creates the key or changes its behaviour (billing and limits start over; stats stay). */
  setKey(key: string, behaviour: string | BehaviourSpec): KeyView;
  /** Raises the key's billing limit; a quota or exhausted key answers again. */
  topUp(key: string, usd: number): KeyView;
  /** Adds to the key's billing usage. */
  spend(key: string, usd: number): KeyView;
  key(key: string): KeyView;
  keys(): KeyView[];
  /** Per-key counters: requests, statuses, prompt/completion tokens. */
  stats(): Record<string, CredentialStats>;
  stats(key: string): CredentialStats;
  /** The recent request log (last 1000), oldest first; `key` also matches a session id. */
  requests(key?: string, limit?: number): RequestLogEntry[];
  setSession(token: string, behaviour: string | SessionSpec): SessionView;
  session(token: string): SessionView;
  sessions(): SessionView[];
  sessionStats(): Record<string, SessionView["stats"]>;
  sessionStats(token: string): SessionView["stats"];
  /** Back to the starting configuration: keys, sessions, counters, conversations, log. */
  reset(): void;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const scenario = options.scenario ?? {};
  const abort = new AbortController();
  const ctx: SimContext = {
    keys: new KeyRegistry({ ...scenario.keys, ...options.keys }, options.unknownKeys ?? scenario.unknownKeys ?? "invalid"),
    sessions: new SessionRegistry({ ...scenario.sessions, ...options.sessions }),
    log: new RequestLog(1000),
    signal: abort.signal,
  };
  const control = new SimControl(ctx);
  await loadTokenizer("o200k_base");
  const server = createSimServer(ctx, control);
  const host = options.host ?? "127.0.0.1";
  server.listen(options.port ?? 0, host);
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | null = null;

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      abort.abort();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };

  function stats(): Record<string, CredentialStats>;
  function stats(key: string): CredentialStats;
  function stats(key?: string): CredentialStats | Record<string, CredentialStats> {
    return key === undefined ? control.allStats() : control.stats(key);
  }

  function sessionStats(): Record<string, SessionView["stats"]>;
  function sessionStats(token: string): SessionView["stats"];
  function sessionStats(token?: string): SessionView["stats"] | Record<string, SessionView["stats"]> {
    if (token !== undefined) return control.session(token).stats;
    const out: Record<string, SessionView["stats"]> = {};
    for (const view of control.sessions()) out[view.id] = view.stats;
    return out;
  }

  return {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    close,
    [Symbol.asyncDispose]: close,
    setKey: (key, behaviour) => control.setKey(key, behaviour),
    topUp: (key, usd) => control.topUp(key, usd),
    spend: (key, usd) => control.spend(key, usd),
    key: (key) => control.key(key),
    keys: () => control.keys(),
    stats,
    requests: (key, limit) => control.requests(key, limit),
    setSession: (token, behaviour) => control.setSession(token, behaviour),
    session: (token) => control.session(token),
    sessions: () => control.sessions(),
    sessionStats,
    reset: () => control.reset(),
  };
}
