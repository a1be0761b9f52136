/**
 * The Redis store: many keypool instances share one pool. Every write that
 * matters is a Lua script (atomic, with its audit event and its change
 * message), every instance hears every change on the feed, and while Redis is
 * away each call fails fast with a StoreError and the store reconnects on its
 * own. See keys.ts for the key layout and scripts.ts for the scripts.
 */
import type { Store } from "../types.ts";
import { redisChangeFeed } from "./change-feed.ts";
import { parseRedisUrl, RedisLink } from "./connection.ts";
import { redisConversationRepo } from "./conversations.ts";
import { redisCredentialRepo } from "./credentials.ts";
import { redisEventRepo } from "./events.ts";
import { redisCounterRepo, redisLeaseRepo, redisMetaRepo } from "./misc.ts";
import { makeContext, resolveSettings, type RedisStoreOptions } from "./options.ts";
import { defineScripts } from "./scripts.ts";
import { redisTokenRepo } from "./tokens.ts";
import { redisUsageRepo } from "./usage.ts";

export type { RedisStoreOptions } from "./options.ts";
export { DEFAULT_PREFIX } from "./keys.ts";

/**
 * Opens a store on `redis://HOST:PORT/DB` (or `rediss://`, credentials in the
 * URL). Opens two connections, commands and the change feed's subscriber, in
 * parallel. Resolves even when Redis does not answer yet — calls then reject
 * with StoreError until it does; use `ping()` to find out.
 */
export async function openRedisStore(url: string, options: RedisStoreOptions = {}): Promise<Store> {
  const endpoint = parseRedisUrl(url);
  const settings = resolveSettings(options);
  const link = new RedisLink(endpoint, { name: settings.instance, commandTimeoutMs: settings.commandTimeoutMs });
  defineScripts(link.redis);
  const ctx = makeContext(link, settings);
  const feed = redisChangeFeed(endpoint, settings, ctx.keys.changes);
  link.setGate(feed.pending);
  await Promise.all([link.start(settings.commandTimeoutMs), feed.start()]);
  let closing: Promise<void> | null = null;

  return {
    kind: "redis",
    credentials: redisCredentialRepo(ctx),
    events: redisEventRepo(ctx),
    usage: redisUsageRepo(ctx),
    leases: redisLeaseRepo(ctx),
    counters: redisCounterRepo(ctx),
    meta: redisMetaRepo(ctx),
    changes: { subscribe: (listener) => feed.subscribe(listener) },
    tokens: redisTokenRepo(ctx),
    conversations: redisConversationRepo(ctx),
    async ping() {
      await link.run("ping", (redis) => redis.ping());
    },
    close() {
      closing ??= Promise.all([feed.close(), link.close()]).then(() => undefined);
      return closing;
    },
  };
}
