import type { KeyRegistry } from "./keys/registry.ts";
import type { RequestLog } from "./request-log.ts";
import type { SessionRegistry } from "./web/registry.ts";

/** What every route of one simulator shares. */
export interface SimContext {
  readonly keys: KeyRegistry;
  readonly sessions: SessionRegistry;
  readonly log: RequestLog;
  /** Aborted when the simulator closes: pending delays stop. */
  readonly signal: AbortSignal;
}
