/** `keypool sim` when it runs: parses the flags, starts the simulator, prints where it listens, stops on a signal. */
import { ConfigError, ValidationError } from "../errors/index.ts";
import { startSimulator, type BehaviourSpec, type Scenario, type SessionSpec, type UnknownKeys } from "../sim/index.ts";
import { loadScenario } from "../sim/scenario.ts";
import { splitAssignment } from "../sim/spec/assignment.ts";
import { toKeyBehaviour } from "../sim/spec/key-behaviour.ts";
import { toSessionBehaviour } from "../sim/spec/session-behaviour.ts";
import { maskSecret } from "../util/mask.ts";

export interface SimFlags {
  port: string;
  host: string;
  scenario?: string;
  key?: string[];
  session?: string[];
  unknownKeys?: string;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(port) || port > 65_535) {
    throw new ValidationError(`--port "${value}": must be an integer between 0 and 65535`, "--port");
  }
  return port;
}

function parseUnknownKeys(value: string | undefined): UnknownKeys | undefined {
  if (value === undefined) return undefined;
  if (value !== "invalid" && value !== "ok") {
    throw new ValidationError(`--unknown-keys "${value}": must be invalid or ok`, "--unknown-keys");
  }
  return value;
}

function parseAssignments<T>(flag: string, values: string[], check: (spec: string, where: string) => unknown): Record<string, T> {
  const out: Record<string, T> = {};
  for (const value of values) {
    const { name, spec } = splitAssignment(flag, value);
    // Errors show the secret masked, and the behaviour as given.
    const shown = `${flag} "${maskSecret(name)}=${spec}"`;
    if (name in out) throw new ValidationError(`${shown}: ${maskSecret(name)} given twice`, flag);
    check(spec, shown);
    out[name] = spec as T;
  }
  return out;
}

export async function runSim(flags: SimFlags): Promise<void> {
  const port = parsePort(flags.port);
  const unknownKeys = parseUnknownKeys(flags.unknownKeys);
  const keys = parseAssignments<string | BehaviourSpec>("--key", flags.key ?? [], (s, w) => toKeyBehaviour(s, w));
  const sessions = parseAssignments<string | SessionSpec>("--session", flags.session ?? [], (s, w) => toSessionBehaviour(s, w));
  const scenario: Scenario = flags.scenario === undefined ? {} : await loadScenario(flags.scenario);
  let sim;
  try {
    sim = await startSimulator({
      port,
      host: flags.host,
      scenario,
      keys,
      sessions,
      ...(unknownKeys === undefined ? {} : { unknownKeys }),
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError("--port", `cannot listen on ${flags.host}:${port} (${code ?? (err as Error).message})`, err);
  }
  const out = process.stdout;
  out.write(`keypool sim listening on ${sim.url}\n`);
  out.write(`  OpenAI API   ${sim.url}/v1\n  web backend  ${sim.url}/api/auth/session, ${sim.url}/backend-api/\n`);
  out.write(`  control      ${sim.url}/_sim/ (no authentication)\n`);
  out.write(`  unknown keys ${unknownKeys ?? scenario.unknownKeys ?? "invalid"}\n`);
  const keyViews = sim.keys();
  out.write(keyViews.length === 0 ? "  keys: none\n" : "  keys:\n");
  keyViews.forEach((k, i) => out.write(`    ${String(i + 1).padStart(2)}. ${maskSecret(k.key).padEnd(14)} ${k.behaviour}\n`));
  const sessionViews = sim.sessions();
  if (sessionViews.length > 0) out.write("  sessions:\n");
  sessionViews.forEach((s, i) => out.write(`    ${String(i + 1).padStart(2)}. ${maskSecret(s.id).padEnd(14)} ${s.behaviour}\n`));
  out.write("Press Ctrl+C to stop.\n");

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await sim.close();
  out.write("keypool sim stopped\n");
}

