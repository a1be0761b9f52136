/** What every part of the gateway shares: built once at start, read on every request. */
import type { Pool } from "../pool/pool.ts";
import type { Dispatchers } from "../transport/dispatchers.ts";
import type { DispatchHooks } from "../transport/dispatch.ts";
import type { Logger } from "../util/logger.ts";
import type { ClientAuth } from "./auth/client-auth.ts";
import type { LiveStats } from "./live-stats.ts";
import type { BusyPoll } from "./http/busy-poll.ts";
import type { GatewayResponse } from "./http/response.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { Meter } from "./proxy/meter.ts";
import type { ModelsCatalog } from "./proxy/models.ts";

export interface GatewayContext {
  readonly pool: Pool;
  readonly dispatchers: Dispatchers;
  readonly auth: ClientAuth;
  readonly metrics: GatewayMetrics;
  readonly live: LiveStats;
  readonly meter: Meter;
  readonly models: ModelsCatalog;
  readonly log: Logger;
  /** The per-request lines: fields the gateway sets itself (no secrets), so without the redaction pass (5x cheaper a line). */
  readonly requestLog: Logger;
  /** Shared dispatch hooks (one object, not one per request). */
  readonly hooks: DispatchHooks;
  readonly maxBodyBytes: number;
  /** null: the admin API is off (answers 403 saying how to turn it on). */
  readonly adminToken: Buffer | null;
  /** Open `/admin/live` streams (ended at shutdown). */
  readonly liveStreams: Set<GatewayResponse>;
  /** Keeps the loop polling after traffic, when configured. */
  readonly busyPoll: BusyPoll;
  /** Set when shutdown begins: new requests get 503. */
  draining: boolean;
  /** Called when the last in-flight request ends (shutdown waits on it). */
  onIdle: (() => void) | null;
}
