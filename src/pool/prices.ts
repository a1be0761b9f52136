/**
 * Model prices in USD per million tokens: gpt-tokenizer's maintained table,
 * overridden by the user's. Models found in neither cost 0 and are reported
 * as unpriced rather than guessed.
 */
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
  const main = builtinTable()[model]?.price_data?.main;
  if (main?.input === undefined) return null;
  return { input: main.input, output: main.output ?? main.input };
}

export function costUsd(model: string, promptTokens: number, completionTokens: number, overrides: PriceTable = {}): number {
  const p = priceOf(model, overrides);
  if (p === null) return 0;
  return (promptTokens * p.input + completionTokens * p.output) / 1_000_000;
}
