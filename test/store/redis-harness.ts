/**
 * Shared by the Redis store tests: which server, a prefix of one's own, and
 * cleanup that deletes only that prefix's keys (SCAN + UNLINK, never FLUSHDB).
 * Redis must answer: a test that cannot reach it fails, it is never skipped.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

/** The shared server; KEYPOOL_TEST_REDIS overrides it (`redis://host:port`, no database). */
export const REDIS_BASE = (process.env.KEYPOOL_TEST_REDIS ?? "redis://127.0.0.1:6379").replace(/\/+$/, "");

export const redisUrl = (db: number): string => `${REDIS_BASE}/${db}`;

/** A raw client for assertions and cleanup (not the store's own connection). */
export function rawClient(url: string): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 2000, retryStrategy: () => null });
  client.on("error", () => undefined); // failures reach the caller through the command's promise
  return client;
}

/** Throws a clear error when the test Redis does not answer. */
export async function requireRedis(url: string): Promise<void> {
  const client = rawClient(url);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new Error(
      `Redis is not reachable at ${url} (${(err as Error).message}). The Redis store tests need a real Redis: ` +
        `start one with: redis-server --daemonize yes --port 6379 --save "" --appendonly no (see .ci/run), or set KEYPOOL_TEST_REDIS.`,
      { cause: err },
    );
  } finally {
    client.disconnect();
  }
}

export function testPrefix(name: string): string {
  return `kptest:${name}:${randomBytes(4).toString("hex")}:`;
}

/** Deletes every key under `prefix` in the URL's database; returns how many. */
export async function deletePrefix(url: string, prefix: string): Promise<number> {
  const client = rawClient(url);
  let deleted = 0;
  try {
    await client.connect();
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 5000);
      if (keys.length > 0) deleted += await client.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
  return deleted;
}
