/**
 * The gateway's composition root: a pool, the request context around it,
 * the HTTP server, and an orderly shutdown (stop accepting, let in-flight
 * requests finish within a bound, then close the pool and its store).
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createPool } from "../create-pool.ts";
import { ConfigError } from "../errors/index.ts";
import type { Pool } from "../pool/pool.ts";
import type { GatewayConfig } from "../config/gateway-config.ts";
import { isLoopback } from "../config/gateway-config.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { dashboardMount } from "../dashboard/index.ts";
import { endLiveStreams } from "./admin/reads.ts";
import { ClientAuth } from "./auth/client-auth.ts";
import { tokenState } from "./auth/token-issue.ts";
import type { GatewayContext } from "./context.ts";
import { LiveStats } from "./live-stats.ts";
import { GatewayMetrics } from "./metrics.ts";
import { Meter } from "./proxy/meter.ts";
import { ModelsCatalog } from "./proxy/models.ts";
import { createGatewayServer, type Mount } from "./server.ts";
import { BusyPoll, DEFAULT_BUSY_POLL_US } from "./http/busy-poll.ts";
import type { GatewayResponse } from "./http/response.ts";

export interface GatewayOptions {
  /** A pool to serve (tests, embedding); otherwise one is opened from `config`. */
  pool?: Pool;
  logger?: Logger;
  mounts?: readonly Mount[];
  /** prom-client's process metrics (default on). */
  defaultMetrics?: boolean;
}

export interface Gateway {
  /** `http://HOST:PORT`; the OpenAI API is under `${url}/v1`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly pool: Pool;
  readonly context: GatewayContext;
  /** The node:http server, for embedding (an upgrade handler, socket options, counting connections). */
  readonly server: Server<typeof IncomingMessage, typeof GatewayResponse>;
  /** Stops accepting, waits up to `timeoutMs` (default: the config's) for in-flight requests, closes the pool. */
  close(timeoutMs?: number): Promise<{ drained: boolean }>;
}

type ConfigPart = Pick<GatewayConfig, "host" | "port" | "adminToken" | "maxBodyBytes" | "shutdownTimeoutMs" | "headersTimeoutMs" | "requestTimeoutMs" | "busyPollUs">;

const DEFAULTS: Omit<ConfigPart, "host" | "port" | "adminToken"> = { maxBodyBytes: 10 * 1024 * 1024, shutdownTimeoutMs: 10_000, headersTimeoutMs: 20_000, requestTimeoutMs: 120_000, busyPollUs: DEFAULT_BUSY_POLL_US };

/** Opens the pool a gateway configuration describes (the store, upstream, keys at start, health checks). */
export async function openGatewayPool(config: GatewayConfig, log: Logger): Promise<Pool> {
  const pool = await createPool({
    store: config.store,
    ...(config.upstream === undefined ? {} : { upstream: config.upstream }),
    ...(config.secretKey === undefined ? {} : { secretKey: config.secretKey }),
    ...(config.strategy === undefined ? {} : { strategy: config.strategy }),
    ...(config.deadlineMs === undefined ? {} : { deadlineMs: config.deadlineMs }),
    ...(config.redisPrefix === undefined ? {} : { redisPrefix: config.redisPrefix }),
    ...(config.prices === undefined ? {} : { prices: config.prices }),
    health: config.healthIntervalMs === 0 ? false : { intervalMs: config.healthIntervalMs },
    timeouts: { headersMs: config.upstreamTimeoutMs, bodyMs: config.upstreamTimeoutMs },
    logger: log,
  });
  if (config.keys.length > 0) {
    const r = await pool.add(config.keys);
    log.info({ added: r.added.length, duplicates: r.duplicates.length }, "keys from KEYPOOL_KEYS loaded");
  }
  return pool;
}

/** Refuses a non-loopback address unless an admin token and a usable client token exist. */
async function guardListen(pool: Pool, host: string, adminToken: string | undefined): Promise<void> {
  if (isLoopback(host)) return;
  const now = Date.now();
  const tokens = (await pool.store.tokens.list()).filter((t) => tokenState(t, now) === "active");
  const missing: string[] = [];
  if (adminToken === undefined) missing.push("an admin token (KEYPOOL_ADMIN_TOKEN)");
  if (tokens.length === 0) missing.push("a client token (keypool tokens add --name NAME)");
  if (missing.length > 0) {
    throw new ConfigError("host", `refusing to listen on ${host}: a gateway reachable from other machines needs ${missing.join(" and ")}; listen on 127.0.0.1, or set them up first`);
  }
}

export async function startGateway(config: Partial<GatewayConfig> & Pick<GatewayConfig, "host" | "port">, options: GatewayOptions = {}): Promise<Gateway> {
  const cfg = { ...DEFAULTS, ...config };
  const log = options.logger ?? createLogger({ level: config.logLevel ?? "info" });
  const ownsPool = options.pool === undefined;
  const pool = options.pool ?? (await openGatewayPool(cfg as GatewayConfig, log));
  try {
    await guardListen(pool, cfg.host, cfg.adminToken);
  } catch (err) {
    if (ownsPool) await pool.close();
    throw err;
  }
  const dispatchers = pool.dispatchers;
  if (dispatchers === null) throw new Error("the gateway needs a pool made by createPool() (it has the transport)");
  const metrics = new GatewayMetrics(pool, { defaultMetrics: options.defaultMetrics ?? true });
  const auth = new ClientAuth(pool.store, { loopbackOnly: isLoopback(cfg.host) });
  const onState = (ev: Parameters<GatewayMetrics["transition"]>[0]): void => {
    metrics.transition(ev);
    log.info({ credential: ev.credentialId, from: ev.from, to: ev.to, reason: ev.reason }, "credential state changed");
  };
  pool.on("state", onState);
  const ctx: GatewayContext = {
    pool,
    dispatchers,
    auth,
    metrics,
    live: new LiveStats(),
    meter: new Meter(pool, auth, metrics, log),
    models: new ModelsCatalog(pool, dispatchers),
    log,
    requestLog: log.child({}, { redact: { paths: [], censor: "" } }),
    hooks: { onRetry: (outcome) => metrics.retry(outcome.kind) },
    maxBodyBytes: cfg.maxBodyBytes,
    adminToken: cfg.adminToken === undefined ? null : createHash("sha256").update(cfg.adminToken).digest(),
    liveStreams: new Set(),
    busyPoll: new BusyPoll(cfg.busyPollUs),
    draining: false,
    onIdle: null,
  };
  const server = createGatewayServer(ctx, { headersTimeoutMs: cfg.headersTimeoutMs, requestTimeoutMs: cfg.requestTimeoutMs }, [dashboardMount(), ...(options.mounts ?? [])]);
  server.listen(cfg.port, cfg.host);
  try {
    await Promise.race([once(server, "listening"), once(server, "error").then(([err]) => Promise.reject(err as Error))]);
  } catch (err) {
    pool.off("state", onState);
    if (ownsPool) await pool.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError("port", `cannot listen on ${cfg.host}:${cfg.port} (${code ?? (err as Error).message})`, err);
  }
  const addr = server.address() as AddressInfo;
  const urlHost = addr.address.includes(":") ? `[${addr.address}]` : addr.address;
  let closing: Promise<{ drained: boolean }> | null = null;

  const close = (timeoutMs = cfg.shutdownTimeoutMs): Promise<{ drained: boolean }> => {
    closing ??= (async () => {
      ctx.draining = true;
      ctx.busyPoll.stop();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      endLiveStreams(ctx);
      let drained = metrics.inflight === 0;
      if (!drained) {
        let timer: NodeJS.Timeout | undefined;
        drained = await Promise.race([
          new Promise<boolean>((resolve) => (ctx.onIdle = () => resolve(true))),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
        ]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await stopped;
      auth.stop();
      pool.off("state", onState);
      if (ownsPool) await pool.close();
      log.info({ drained }, "gateway stopped");
      log.flush?.();
      return { drained };
    })();
    return closing;
  };

  return { url: `http://${urlHost}:${addr.port}`, port: addr.port, host: addr.address, pool, context: ctx, server, close };
}
