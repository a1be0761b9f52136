/** Leases (SET NX PX + owner-checked scripts), shared counters (INCRBY) and store meta (a hash). */
import type { CounterRepo, LeaseRepo, MetaRepo } from "../types.ts";
import type { StoreContext } from "./options.ts";
import { runScript } from "./scripts.ts";

export function redisLeaseRepo({ link, keys }: StoreContext): LeaseRepo {
  return {
    async acquire(name, owner, ttlMs) {
      const ttl = Math.max(1, Math.ceil(ttlMs));
      const got = await link.run("leases.acquire", (redis) => runScript(redis, "kpLeaseAcquire", [keys.lease(name)], [owner, ttl]));
      return got === 1;
    },
    async release(name, owner) {
      await link.run("leases.release", (redis) => runScript(redis, "kpLeaseRelease", [keys.lease(name)], [owner]));
    },
  };
}

export function redisCounterRepo({ link, keys }: StoreContext): CounterRepo {
  return {
    incr(name, by) {
      return link.run("counters.incr", async (redis) =>
        Number.isInteger(by) ? redis.incrby(keys.counter(name), by) : Number(await redis.incrbyfloat(keys.counter(name), by)),
      );
    },
  };
}

export function redisMetaRepo({ link, keys }: StoreContext): MetaRepo {
  return {
    get: (key) => link.run("meta.get", (redis) => redis.hget(keys.meta, key)),
    async set(key, value) {
      await link.run("meta.set", (redis) => redis.hset(keys.meta, key, value));
    },
  };
}
