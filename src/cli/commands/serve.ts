/** `keypool serve`: the OpenAI-compatible gateway in front of the pool. Registration only: the gateway loads when it runs. */
import type { Command } from "commander";
import type { GatewayFlags } from "../../config/gateway-config.ts";

const HELP = `
Configuration: flags, then the environment, then the config file (--config, JSON), then defaults.
  flag                  environment                  config file        default
  --store               KEYPOOL_STORE                store              sqlite:./keypool.db
  --upstream            KEYPOOL_UPSTREAM             upstream           https://api.openai.com/v1
                        KEYPOOL_KEYS (a,b,...)       keys               (keys added at start)
  --admin-token         KEYPOOL_ADMIN_TOKEN          adminToken         (admin API off)
                        KEYPOOL_SECRET_KEY           secretKey          (secrets stored unencrypted)
  --port                PORT                         port               8787
  --host                HOST                         host               127.0.0.1
  --max-body            KEYPOOL_MAX_BODY             maxBodyBytes       10mb
  --log-level           KEYPOOL_LOG_LEVEL            logLevel           info
  --shutdown-timeout    KEYPOOL_SHUTDOWN_TIMEOUT_MS  shutdownTimeoutMs  10000
  --strategy            KEYPOOL_STRATEGY             strategy           headroom
  --health-interval     KEYPOOL_HEALTH_INTERVAL_MS   healthIntervalMs   60000 (0: off)
  --upstream-timeout    KEYPOOL_UPSTREAM_TIMEOUT_MS  upstreamTimeoutMs  60000
  --busy-poll           KEYPOOL_BUSY_POLL_US         busyPollUs         500 (most µs of polling after traffic; 0: off)
                                                     headersTimeoutMs   20000
                                                     requestTimeoutMs   120000
                                                     deadlineMs         600000
                        KEYPOOL_REDIS_PREFIX         redisPrefix        keypool:
                                                     prices             {"model": {"input": USD/1M, "output": USD/1M}}

The gateway listens on 127.0.0.1 unless told otherwise, and refuses any other
address until an admin token and at least one client token exist. While no
client token exists, /v1 is open to local callers (like a dev server).

Routes: /v1/* (OpenAI API), /admin/* (Authorization: Bearer $KEYPOOL_ADMIN_TOKEN),
/healthz, /metrics (Prometheus). Logs are JSON lines on stdout.

Examples:
  keypool serve
  KEYPOOL_KEYS=sk-aaa,sk-bbb keypool serve --port 8080
  KEYPOOL_ADMIN_TOKEN=$(openssl rand -hex 24) keypool serve --store redis://127.0.0.1:6379/0
  keypool serve --config gateway.json
`;

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("Run the OpenAI-compatible gateway: one URL for every app, the keys held in the pool")
    .option("-p, --port <port>", "port to listen on (default 8787, or PORT)")
    .option("--host <host>", "address to listen on (default 127.0.0.1, or HOST)")
    .option("--store <spec>", "memory, sqlite:PATH or redis://HOST:PORT/DB (default sqlite:./keypool.db, or KEYPOOL_STORE)")
    .option("--upstream <url>", "default upstream base URL (or KEYPOOL_UPSTREAM)")
    .option("--config <file>", "JSON config file (flags and environment take precedence)")
    .option("--admin-token <token>", "admin API token (prefer KEYPOOL_ADMIN_TOKEN: flags show in ps)")
    .option("--max-body <size>", "largest request body, e.g. 10mb")
    .option("--log-level <level>", "fatal, error, warn, info, debug, trace or silent")
    .option("--shutdown-timeout <ms>", "how long in-flight requests get to finish on SIGTERM")
    .option("--strategy <name>", "key selection: random, round-robin, weighted, least-busy, headroom")
    .option("--health-interval <ms>", "health-check interval (0 turns it off)")
    .option("--upstream-timeout <ms>", "longest wait for an upstream's first byte, and longest silence in an answer, before failing over")
    .option("--busy-poll <us>", "most microseconds the event loop polls after a request starts or ends, adapting to the traffic's gaps: less latency on VMs where gaps are short (default 500; 0: off)")
    .addHelpText("after", HELP)
    .action(async (flags: GatewayFlags) => (await import("../serve-action.ts")).runServe(flags));
}
