/** The knobs of the state machine, with the defaults keypool ships. */
export interface PoolPolicy {
  /** What a definitive "invalid key" answer does: keep the key retired, or delete it (the write-up's way). */
  onInvalid: "retire" | "remove";
  /** Ambiguous failures (5xx, timeouts, bare 401s) that eject a key when seen within the window. */
  ambiguousThreshold: number;
  ambiguousWindowMs: number;
  /** Cooldown after an ejection; multiplied by the key's ejection count (Envoy's base_ejection_time). */
  baseEjectionMs: number;
  maxEjectionMs: number;
  /** Ambiguous failures never take more than this share of the pool out at once (Envoy's max_ejection_percent). */
  maxEjectionPercent: number;
  /** Cooldown after a rate limit without a reset time; doubles on repeats up to the max. */
  rateLimitBaseMs: number;
  rateLimitMaxMs: number;
  /** Longest cooldown taken from an upstream's reset headers. */
  maxCooldownMs: number;
  /** How many learned "model not found" entries a key keeps. */
  maxMissingModels: number;
}

export const DEFAULT_POLICY: PoolPolicy = {
  onInvalid: "retire",
  ambiguousThreshold: 5,
  ambiguousWindowMs: 60_000,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 50,
  rateLimitBaseMs: 1_000,
  rateLimitMaxMs: 60_000,
  maxCooldownMs: 86_400_000,
  maxMissingModels: 32,
};
