/** Model prices: the user's, then OpenAI's list prices, then gpt-tokenizer's table. */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { costUsd, loadPrices, priceOf } from "../../src/pool/prices.ts";

describe("prices", () => {
  before(() => loadPrices());

  it("prices the common models at their list prices, mini models and embeddings included", () => {
    assert.equal(costUsd("gpt-4o-mini", 1_000_000, 1_000_000), 0.75);
    assert.equal(costUsd("gpt-4o", 1_000_000, 1_000_000), 12.5, "not gpt-tokenizer's stale $10/$30");
    assert.equal(costUsd("gpt-4.1-mini", 2_000_000, 0), 0.8);
    assert.equal(costUsd("text-embedding-3-small", 1_000_000, 0), 0.02);
  });

  it("prices a dated model id as its base name", () => {
    assert.deepEqual(priceOf("gpt-4o-mini-2024-07-18"), priceOf("gpt-4o-mini"));
  });

  it("lets the user's table win, and leaves unknown models unpriced", () => {
    assert.equal(costUsd("gpt-4o-mini", 1_000_000, 0, { "gpt-4o-mini": { input: 1, output: 1 } }), 1);
    assert.equal(priceOf("my-relay-model"), null);
    assert.equal(costUsd("my-relay-model", 1000, 1000), 0);
  });

  it("falls back to gpt-tokenizer's table for models not listed here", () => {
    assert.deepEqual(priceOf("o1"), { input: 15, output: 60 });
  });
});
