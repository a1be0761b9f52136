/**
 * A scenario file: the keys and sessions a simulator starts with.
 *
 * ```json
 * {
 *   "description": "two good keys, one limited, one dead",
 *   "unknownKeys": "invalid",
 *   "keys": {
 *     "sk-good-0000000000000001": "ok",
 *     "sk-slow-0000000000000002": "slow:ms=200",
 *     "sk-rl-00000000000000003": { "behaviour": "rate-limited", "rpm": 3, "models": ["gpt-4o-mini"] },
 *     "sk-dead-0000000000000004": "invalid"
 *   },
 *   "sessions": {
 *     "sess-token-1": "rotate",
 *     "sess-token-2": { "behaviour": "cf-required", "clearance": "abc", "ua": "Mozilla/5.0" }
 *   }
 * }
 * ```
 * A behaviour is the flag form (`NAME:param=v,...`) or the object form
 * (`{ "behaviour": NAME, param: value }`); `keypool sim --help` lists both
 * tables. `unknownKeys` says how keys not listed are answered: `invalid`
 * (401, the default) or `ok` (each new key is created as `ok`).
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { ValidationError } from "../errors/index.ts";
import { maskSecret } from "../util/mask.ts";
import { toKeyBehaviour, type BehaviourSpec } from "./spec/key-behaviour.ts";
import { toSessionBehaviour, type SessionSpec } from "./spec/session-behaviour.ts";

export type UnknownKeys = "invalid" | "ok";

export interface Scenario {
  description?: string;
  unknownKeys?: UnknownKeys;
  keys?: Record<string, string | BehaviourSpec>;
  sessions?: Record<string, string | SessionSpec>;
}

const specValue = z.union([z.string(), z.record(z.string(), z.unknown())], {
  error: "must be a behaviour string or object",
});

const ScenarioSchema = z.strictObject({
  $schema: z.string().optional(),
  description: z.string().optional(),
  unknownKeys: z.enum(["invalid", "ok"], { error: "must be invalid or ok" }).optional(),
  keys: z.record(z.string().min(1, "a key must not be empty"), specValue).optional(),
  sessions: z.record(z.string().min(1, "a session token must not be empty"), specValue).optional(),
});

/** Validates a scenario, including every behaviour in it; errors name the field. */
export function parseScenario(value: unknown, source = "scenario"): Scenario {
  const result = ScenarioSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    // keys.<secret>: the secret is shown masked.
    const segments = issue.path.map((p, i) => (i === 1 && (issue.path[0] === "keys" || issue.path[0] === "sessions") ? maskSecret(String(p)) : String(p)));
    const path = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : segments.join(".");
    const message = issue.code === "unrecognized_keys" ? "unknown field" : issue.message;
    throw new ValidationError(`${source}: ${path || "(root)"}: ${message}`, path || null);
  }
  const scenario = result.data as Scenario;
  for (const [key, spec] of Object.entries(scenario.keys ?? {})) toKeyBehaviour(spec, `${source}: keys["${maskSecret(key)}"]`);
  for (const [token, spec] of Object.entries(scenario.sessions ?? {})) {
    toSessionBehaviour(spec, `${source}: sessions["${maskSecret(token)}"]`);
  }
  return scenario;
}

export async function loadScenario(file: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ValidationError(`--scenario ${file}: cannot read (${(err as Error).message})`, "scenario", err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`--scenario ${file}: not valid JSON (${(err as Error).message})`, "scenario", err);
  }
  return parseScenario(json, file);
}
