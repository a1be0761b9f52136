/**
 * Model prices in USD per million tokens: the user's, then OpenAI's list
 * prices (list-prices.ts), then gpt-tokenizer's table. Models found in none
 * cost 0 and are reported as unpriced rather than guessed.
 */
import { LIST_PRICES, undated } from "./list-prices.ts";

export interface ModelPrice {
  input: number;
  output: number;
}
export type PriceTable = Record<string, ModelPrice>;

interface Spec {
  price_data?: { main?: { input?: number; output?: number } };
}

let builtin: Record<string, Spec> = {};
let loading: Promise<void> | undefined;

/** Loads the built-in table once (it is large; the CLI's quick commands never need it). */
export function loadPrices(): Promise<void> {
  loading ??= import("gpt-tokenizer/models").then((m) => {
    builtin = m as unknown as Record<string, Spec>;
  });
  return loading;
}

function builtinTable(): Record<string, Spec> {
  return builtin;
}

export function priceOf(model: string, overrides: PriceTable = {}): ModelPrice | null {
  const own = overrides[model];
  if (own !== undefined) return own;
  const base = undated(model);
  const listed = LIST_PRICES[model] ?? LIST_PRICES[base];
  if (listed !== undefined) return listed;
  const main = (builtinTable()[model] ?? builtinTable()[base])?.price_data?.main;
  if (main?.input === undefined) return null;
  return { input: main.input, output: main.output ?? main.input };
}

/** The cost of a request's tokens at `price` (0 when the model has none). */
export function costAt(price: ModelPrice | null, promptTokens: number, completionTokens: number): number {
  return price === null ? 0 : (promptTokens * price.input + completionTokens * price.output) / 1_000_000;
}

export function costUsd(model: string, promptTokens: number, completionTokens: number, overrides: PriceTable = {}): number {
  return costAt(priceOf(model, overrides), promptTokens, completionTokens);
}
