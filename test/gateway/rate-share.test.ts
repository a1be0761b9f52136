/** How an instance shares a token's rate window: every SHARE_MS while in use, less often while the store refuses. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClientAuth, SHARE_MS } from "../../src/gateway/auth/client-auth.ts";
import { issueToken } from "../../src/gateway/auth/token-issue.ts";
import { openMemoryStore } from "../../src/store/memory/index.ts";
import { StoreError } from "../../src/store/store-error.ts";
import type { Store } from "../../src/store/types.ts";

/** A memory store whose shareRate calls are counted, and refused while `down`. */
function countedStore(): { store: Store; calls: () => number; setDown(down: boolean): void } {
  const inner = openMemoryStore();
  let calls = 0;
  let down = false;
  const tokens = {
    ...inner.tokens,
    shareRate: (...args: Parameters<Store["tokens"]["shareRate"]>) => {
      calls++;
      return down ? Promise.reject(new StoreError("the store is away")) : inner.tokens.shareRate(...args);
    },
  };
  return { store: { ...inner, tokens }, calls: () => calls, setDown: (d) => (down = d) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("sharing a token's rate window", () => {
  it("shares every half second while the store takes it, and waits 2 s after a refusal", async () => {
    const { store, calls, setDown } = countedStore();
    const auth = new ClientAuth(store, { loopbackOnly: true });
    try {
      const { token } = await issueToken(store, { name: "app", rpm: 1000 });
      const caller = await auth.authenticate(`Bearer ${token}`);
      assert.equal(calls(), 1, "the first lookup learns the others' windows");
      auth.admit(caller, null);
      await sleep(SHARE_MS * 3 + 250);
      const taking = calls() - 1;
      assert.ok(taking >= 2 && taking <= 4, `${taking} shares in ${SHARE_MS * 3 + 250} ms while the store takes them`);
      setDown(true);
      const before = calls();
      await sleep(SHARE_MS + 100); // the next share is refused...
      const refused = calls() - before;
      assert.ok(refused >= 1, "a share was tried");
      await sleep(SHARE_MS * 2 - 100); // ...and none follows for 2 s (without the back-off: two more by now)
      assert.equal(calls() - before, refused, "no share for 2 s after a refusal");
    } finally {
      auth.stop();
    }
  });
});
