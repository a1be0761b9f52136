import { ConfigError } from "../errors/index.ts";
import { createSecretBox } from "./secret-box.ts";
import { openMemoryStore } from "./memory/index.ts";
import type { Store } from "./types.ts";

export interface OpenStoreOptions {
  secretKey?: string | undefined;
  instance?: string;
  redisPrefix?: string | undefined;
}

/** Opens a store from its spec: `memory`, `sqlite:PATH` or `redis://HOST:PORT/DB`. */
export async function openStore(spec: string, options: OpenStoreOptions = {}): Promise<Store> {
  const secretBox = createSecretBox(options.secretKey);
  const instance = options.instance === undefined ? {} : { instance: options.instance };
  if (spec === "memory") return openMemoryStore();
  if (spec.startsWith("sqlite:")) {
    const path = spec.slice("sqlite:".length);
    if (path === "") throw new ConfigError("KEYPOOL_STORE", "sqlite: needs a path, e.g. sqlite:./keypool.db");
    const { openSqliteStore } = await import("./sqlite/index.ts");
    return openSqliteStore(path, { secretBox, ...instance });
  }
  if (spec.startsWith("redis://") || spec.startsWith("rediss://")) {
    const { openRedisStore } = await import("./redis/index.ts");
    return openRedisStore(spec, { secretBox, ...instance, ...(options.redisPrefix === undefined ? {} : { prefix: options.redisPrefix }) });
  }
  throw new ConfigError("KEYPOOL_STORE", `unknown store "${spec}": use memory, sqlite:PATH or redis://HOST:PORT/DB`);
}
