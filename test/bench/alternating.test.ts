/** bench/alternating.ts's variant list: name|bin|node flags|env. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseVariants } from "../../bench/alternating.ts";

describe("alternating bench variants", () => {
  const served = (): string => "/checkout/dist/bin/keypool.js";

  it("reads name, bin, node flags and environment, with this checkout's build for `served`", () => {
    assert.deepEqual(parseVariants("now|served,off|/other/keypool.js|--max-semi-space-size=4 --no-maglev|KEYPOOL_BUSY_POLL_US=0 A_B=x=y", served), [
      { name: "now", bin: "/checkout/dist/bin/keypool.js", flags: [], env: {} },
      { name: "off", bin: "/other/keypool.js", flags: ["--max-semi-space-size=4", "--no-maglev"], env: { KEYPOOL_BUSY_POLL_US: "0", A_B: "x=y" } },
    ]);
  });

  it("names what is wrong in a bad entry", () => {
    assert.throws(() => parseVariants("|served", served), /ALT_VARIANTS: an entry without a name/);
    assert.throws(() => parseVariants("x|served||busy=0", served), /ALT_VARIANTS: x's env "busy=0" is not NAME=value/);
  });
});
