import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { replyText } from "../../src/sim/openai/reply.ts";

it("builds every reply from real words, deterministically (property)", () => {
  fc.assert(
    fc.property(fc.string(), (input) => {
      const reply = replyText(input);
      assert.ok(!reply.includes("undefined"), `reply to ${JSON.stringify(input)}: ${reply}`);
      assert.equal(replyText(input), reply);
    }),
    { numRuns: 2000 },
  );
});
