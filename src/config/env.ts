/**
 * The environment variables of the public contract, read in one place.
 * KEYPOOL_STORE, KEYPOOL_UPSTREAM, KEYPOOL_KEYS, KEYPOOL_ADMIN_TOKEN,
 * KEYPOOL_SECRET_KEY, PORT, HOST.
 */
export const DEFAULT_STORE = "sqlite:./keypool.db";

export interface EnvConfig {
  store: string;
  upstream: string | undefined;
  keys: string[];
  adminToken: string | undefined;
  secretKey: string | undefined;
  port: string | undefined;
  host: string | undefined;
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === "" ? undefined : v.trim());

export function readEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  return {
    store: nonEmpty(env.KEYPOOL_STORE) ?? DEFAULT_STORE,
    upstream: nonEmpty(env.KEYPOOL_UPSTREAM),
    keys: (env.KEYPOOL_KEYS ?? "")
      .split(",")
      .map((k) => k.trim())
      .filter((k) => k !== ""),
    adminToken: nonEmpty(env.KEYPOOL_ADMIN_TOKEN),
    secretKey: nonEmpty(env.KEYPOOL_SECRET_KEY),
    port: nonEmpty(env.PORT),
    host: nonEmpty(env.HOST),
  };
}
