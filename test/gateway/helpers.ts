/** A simulator, a pool on it, and a gateway in front, with the official SDK pointed at the gateway. */
import type { Socket } from "node:net";
import OpenAI from "openai";
import { createPool } from "../../src/create-pool.ts";
import type { PoolOptions } from "../../src/pool/options.ts";
import type { Pool } from "../../src/pool/pool.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { startGateway, type Gateway } from "../../src/gateway/index.ts";
import type { GatewayConfig } from "../../src/config/gateway-config.ts";
import { silentLogger, type Logger } from "../../src/util/logger.ts";

export const ADMIN = "admin-test-token-0123456789abcdef";

export interface Harness {
  sim: Simulator;
  pool: Pool;
  gw: Gateway;
  /** An SDK client on the gateway (`token` as its API key). */
  client(token?: string): OpenAI;
  /** A request to the admin API with the admin token (or `auth`). */
  admin(path: string, init?: RequestInit & { auth?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  pool?: PoolOptions;
  gateway?: Partial<GatewayConfig>;
  logger?: Logger;
}

export async function harness(keys: Record<string, string>, opts: HarnessOptions = {}): Promise<Harness> {
  const sim = await startSimulator({ keys });
  const pool = await createPool({ upstream: `${sim.url}/v1`, keys: Object.keys(keys), health: false, ...opts.pool });
  const gw = await startGateway({ host: "127.0.0.1", port: 0, adminToken: ADMIN, ...opts.gateway }, { pool, logger: opts.logger ?? silentLogger(), defaultMetrics: false });
  return {
    sim,
    pool,
    gw,
    client: (token = "no-token") => new OpenAI({ apiKey: token, baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: 10_000 }),
    admin(path, init = {}) {
      const { auth = ADMIN, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (auth !== null) headers.set("authorization", `Bearer ${auth}`);
      if (rest.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
      return fetch(`${gw.url}${path}`, { ...rest, headers });
    },
    async close() {
      await gw.close(1000);
      await pool.close();
      await sim.close();
    },
  };
}

/** A key that reads as what it does: `sk-<name>-<digits>`. */
export const key = (name: string, n = 1): string => `sk-${name.replace(/[^a-z0-9]/gi, "")}-${String(n).padStart(24, "0")}`;

export const chat = (client: OpenAI, model = "gpt-4o-mini", content = "hello") => client.chat.completions.create({ model, messages: [{ role: "user", content }] });

/** Reads an error thrown by the SDK as status, code and message. */
export function apiError(err: unknown): { status: number; code: string | null; message: string } {
  const e = err as { status?: number; code?: string | null; message?: string; error?: { message?: string } };
  return { status: e.status ?? 0, code: e.code ?? null, message: e.error?.message ?? e.message ?? "" };
}

export async function expectApiError(p: Promise<unknown>): Promise<{ status: number; code: string | null; message: string }> {
  try {
    await p;
  } catch (err) {
    return apiError(err);
  }
  throw new Error("expected the call to fail");
}

/** Counts the low-level writes on the next connection the gateway accepts. */
export function countWrites(gw: Gateway): { count: () => number } {
  let n = 0;
  gw.server.once("connection", (socket: Socket) => {
    const write = socket._write;
    const writev = socket._writev;
    socket._write = function (...args) {
      n++;
      return write.apply(this, args);
    };
    if (writev !== undefined)
      socket._writev = function (...args) {
        n++;
        return writev.apply(this, args);
      };
  });
  return { count: () => n };
}

