import assert from "node:assert/strict";
import OpenAI from "openai";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/sim/index.ts";

/** A simulator for one test, closed by the test's `t.after`. */
export async function testSim(t: { after: (fn: () => Promise<void>) => void }, options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator(options);
  t.after(() => sim.close());
  return sim;
}

export function client(sim: Simulator, apiKey: string, options: { timeout?: number } = {}): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${sim.url}/v1`, maxRetries: 0, ...options });
}

/** Awaits a rejection of the given class and returns the error for more checks. */
export async function rejectsWith<T>(promise: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${type.name}, but the call succeeded`);
}

export const HELLO = [{ role: "user" as const, content: "Hello there, how are you today?" }];

/** Distinct, long-enough keys so that masking keeps something. */
export function key(name: string): string {
  return `sk-${name}-`.padEnd(28, "0") + "wxyz";
}
