/** The Redis store against the conformance suite, on database 9 of the shared server, under a random prefix. */
import { openRedisStore } from "../../src/store/redis/index.ts";
import { storeConformance } from "./conformance.ts";
import { deletePrefix, redisUrl, requireRedis, testPrefix } from "./redis-harness.ts";

const DB = 9;

storeConformance(
  "redis",
  async () => {
    const url = redisUrl(DB);
    await requireRedis(url);
    const prefix = testPrefix("conformance");
    const store = await openRedisStore(url, { prefix, instance: "conformance" });
    return {
      store,
      reopen: () => openRedisStore(url, { prefix, instance: "conformance-2" }),
      async cleanup() {
        await store.close();
        await deletePrefix(url, prefix);
      },
    };
  },
  { shared: true },
);
