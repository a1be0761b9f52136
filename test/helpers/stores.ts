/**
 * The three stores for tests that run on each: memory, SQLite in a temp dir,
 * Redis on a database number of the caller's and a prefix of its own.
 */
import { openStore } from "../../src/store/open-store.ts";
import type { Store } from "../../src/store/types.ts";
import { deletePrefix, redisUrl, requireRedis, testPrefix } from "../store/redis-harness.ts";
import { tempDir } from "../store/sqlite-temp.ts";

export const STORE_KINDS = ["memory", "sqlite", "redis"] as const;
export type StoreKindUnderTest = (typeof STORE_KINDS)[number];

export interface TestStore {
  kind: StoreKindUnderTest;
  /** The spec a child process or a second pool would open (`sqlite:PATH`, `redis://...`). */
  spec: string;
  redisPrefix: string | undefined;
  /** A new connection to the same data (memory: the same store). */
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

export async function testStore(kind: StoreKindUnderTest, redisDb: number, name = "pool"): Promise<TestStore> {
  if (kind === "memory") {
    const store = await openStore("memory");
    return { kind, spec: "memory", redisPrefix: undefined, open: async () => store, cleanup: () => store.close() };
  }
  if (kind === "sqlite") {
    const dir = tempDir("keypool-test-");
    const spec = `sqlite:${dir.file()}`;
    return { kind, spec, redisPrefix: undefined, open: () => openStore(spec), cleanup: async () => dir.remove() };
  }
  const url = redisUrl(redisDb);
  await requireRedis(url);
  const prefix = testPrefix(name);
  return {
    kind,
    spec: url,
    redisPrefix: prefix,
    open: () => openStore(url, { redisPrefix: prefix }),
    cleanup: async () => {
      await deletePrefix(url, prefix);
    },
  };
}
