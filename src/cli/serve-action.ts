/** What `keypool serve` does: resolve the configuration, start the gateway, stop it on SIGTERM/SIGINT. */
import { resolveGatewayConfig, type GatewayFlags } from "../config/gateway-config.ts";
import { startGateway } from "../gateway/gateway.ts";
import { createLogger } from "../util/logger.ts";

export async function runServe(flags: GatewayFlags): Promise<void> {
  const config = resolveGatewayConfig(flags);
  const log = createLogger({ level: config.logLevel });
  const gw = await startGateway(config, { logger: log });
  const keys = gw.pool.list();
  const err = process.stderr;
  err.write(`keypool gateway listening on ${gw.url}\n`);
  err.write(`  OpenAI API  ${gw.url}/v1   (clients: baseURL "${gw.url}/v1", apiKey: a client token)\n`);
  err.write(`  store       ${config.store.replace(/\/\/[^@/]*@/, "//***@")}\n`);
  err.write(`  upstream    ${gw.pool.config.upstream}\n`);
  err.write(`  keys        ${keys.length === 0 ? "none yet" : `${keys.length} (${keys.filter((k) => k.state === "active").length} active)`}\n`);
  err.write(`  admin API   ${config.adminToken === undefined ? "off (set KEYPOOL_ADMIN_TOKEN to turn it on)" : `${gw.url}/admin/`}\n`);
  err.write(`  dashboard   ${gw.url}/dashboard/${config.adminToken === undefined ? "   (sign-in needs the admin token)" : ""}\n`);
  err.write(`  busy-poll   ${config.busyPollUs > 0 ? `up to ${config.busyPollUs} µs after traffic, while gaps are that short (KEYPOOL_BUSY_POLL_US=0 turns it off)` : "off"}\n`);
  if (keys.length === 0) {
    const admin = config.adminToken === undefined ? "" : `, or POST ${gw.url}/admin/keys`;
    err.write(`Add keys: keypool keys add sk-... (npm run keypool -- keys add sk-... in a checkout; same store), KEYPOOL_KEYS=sk-a,sk-b${admin}\n`);
  }
  err.write("Ctrl+C (or SIGTERM) stops it after in-flight requests finish.\n");
  log.info({ url: gw.url, store: gw.pool.store.kind, keys: keys.length, busyPollUs: config.busyPollUs }, "gateway listening");

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      // A second signal while draining stops at once.
      process.once("SIGINT", () => process.exit(130));
      process.once("SIGTERM", () => process.exit(143));
      log.info({ signal, inflight: gw.context.metrics.inflight }, "shutting down");
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  const { drained } = await gw.close(config.shutdownTimeoutMs);
  err.write(drained ? "keypool gateway stopped\n" : `keypool gateway stopped (requests still running after ${config.shutdownTimeoutMs} ms were cut)\n`);
  // Whatever might still hold the event loop (a stuck socket) does not keep a stopped gateway alive.
  setTimeout(() => process.exit(), 2000).unref();
}
