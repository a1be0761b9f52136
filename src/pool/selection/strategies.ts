import type { CandidateSet } from "./candidate-set.ts";
import { HeapSet } from "./heap-set.ts";
import { estimateHeadroom } from "./headroom.ts";
import { RandomSet } from "./random-set.ts";
import { RoundRobinSet } from "./round-robin-set.ts";
import { WeightedSet } from "./weighted-set.ts";

export const STRATEGIES = ["random", "round-robin", "weighted", "least-busy", "headroom"] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export interface StrategyDeps {
  rng: () => number;
  /** Next value of the (possibly shared) round-robin counter. */
  nextTurn: () => number;
  now: () => number;
}

/** Builds the candidate set for one model under a strategy; `model` null = requests naming none. */
export function createCandidateSet(strategy: StrategyName, model: string | null, deps: StrategyDeps): CandidateSet {
  switch (strategy) {
    case "random":
      return new RandomSet(deps.rng);
    case "round-robin":
      return new RoundRobinSet(deps.nextTurn);
    case "weighted":
      return new WeightedSet(deps.rng);
    case "least-busy":
      return new HeapSet((e) => e.inFlight);
    case "headroom":
      // Most headroom first; unknown keys count as full so they get tried and measured.
      return new HeapSet((e) => -estimateHeadroom(e, model, deps.now()).fraction);
  }
}

/** Whether the strategy's order depends on load, so sets must hear about every request. */
export const tracksLoad = (s: StrategyName): boolean => s === "least-busy" || s === "headroom";
