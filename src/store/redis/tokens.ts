/** Gateway client tokens: a hash per token, an index by hash (for authentication) and one by creation time. */
import { RATE_WINDOW_MS, type ClientToken, type TokenRepo } from "../types.ts";
import { execPipeline } from "./batches.ts";
import { decodeJsonHash, encodeJsonHash } from "./json-hash.ts";
import type { StoreContext } from "./options.ts";
import { runScript } from "./scripts.ts";

export function redisTokenRepo({ link, keys }: StoreContext): TokenRepo {
  const decode = (reply: unknown): ClientToken | null => decodeJsonHash<ClientToken>(reply as string[] | null);

  return {
    async create(token) {
      await link.run("tokens.create", (redis) =>
        runScript(redis, "kpTokenCreate", [keys.token(token.id), keys.tokens, keys.tokensByHash], [token.id, token.createdAt, token.hash, ...encodeJsonHash(token)]),
      );
    },
    list: () =>
      link.run("tokens.list", async (redis) => {
        const ids = await redis.zrange(keys.tokens, "0", "-1");
        if (ids.length === 0) return [];
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hgetall(keys.token(id));
        const hashes = (await execPipeline(pipeline)) as Record<string, string>[];
        return hashes.map((h) => decodeJsonHash<ClientToken>(h)).filter((t): t is ClientToken => t !== null);
      }),
    get: (id) => link.run("tokens.get", async (redis) => decodeJsonHash<ClientToken>(await redis.hgetall(keys.token(id)))),
    findByHash: (hash) => link.run("tokens.findByHash", async (redis) => decode(await runScript(redis, "kpTokenByHash", [keys.tokensByHash], [keys.prefix, hash]))),
    revoke: (id, at) => link.run("tokens.revoke", async (redis) => decode(await runScript(redis, "kpTokenRevoke", [keys.token(id)], [JSON.stringify(at)]))),
    addUsage: (id, tokens, at) =>
      link.run("tokens.addUsage", async (redis) => {
        const total = await runScript(redis, "kpTokenUsage", [keys.token(id)], [Math.round(tokens), JSON.stringify(at)]);
        return total === null ? null : Number(total);
      }),
    shareRate: (id, instance, window, now) =>
      link.run("tokens.shareRate", async (redis) => {
        const key = keys.tokenRate(id);
        const [, , all] = (await execPipeline(
          redis
            .pipeline()
            .hset(key, instance, JSON.stringify({ window, at: now }))
            .pexpire(key, RATE_WINDOW_MS)
            .hgetall(key),
        )) as [unknown, unknown, Record<string, string>];
        const others: number[][] = [];
        const stale: string[] = [];
        for (const [other, json] of Object.entries(all)) {
          if (other === instance) continue;
          const share = JSON.parse(json) as { window: number[]; at: number };
          if (share.at <= now - RATE_WINDOW_MS) stale.push(other);
          else others.push(share.window);
        }
        // An instance that stopped sharing (gone, or idle for a minute) leaves its field behind.
        if (stale.length > 0) await redis.hdel(key, ...stale);
        return others;
      }),
  };
}
