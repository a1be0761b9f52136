import type { Command } from "commander";
import { ConfigError, ValidationError } from "../../errors/index.ts";
import { startSimulator, type BehaviourSpec, type Scenario, type SessionSpec, type UnknownKeys } from "../../sim/index.ts";
import { loadScenario } from "../../sim/scenario.ts";
import { splitAssignment } from "../../sim/spec/assignment.ts";
import { KEY_TABLE, toKeyBehaviour } from "../../sim/spec/key-behaviour.ts";
import { describeTable } from "../../sim/spec/parse.ts";
import { SESSION_TABLE, toSessionBehaviour } from "../../sim/spec/session-behaviour.ts";
import { maskSecret } from "../../util/mask.ts";

interface SimFlags {
  port: string;
  host: string;
  scenario?: string;
  key?: string[];
  session?: string[];
  unknownKeys?: string;
}

const HELP = `
Behaviour syntax: NAME or NAME:param=value,param=value (list values use |)
  e.g. --key sk-a=rate-limited:rpm=3,tpm=20000   --key sk-b=flaky:rate=0.3
       --key sk-c=exhausts:requests=5             --key sk-d=reset:after=chunks:2
       --key sk-e=ok:models=gpt-4o-mini|gpt-4o    --session TOKEN=short-lived:ms=5000

Key behaviours:
${describeTable(KEY_TABLE, "  ")}

Session behaviours (ChatGPT web backend, cookie __Secure-next-auth.session-token):
${describeTable(SESSION_TABLE, "  ")}

Routes: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses,
/v1/models[/ID], /v1/dashboard/billing/subscription|usage (also without /v1),
/api/auth/session, /backend-api/conversation[s], /backend-api/conversation/ID.

Control: /_sim/keys[/KEY[/topup|/spend]], /_sim/sessions[/TOKEN], /_sim/requests,
/_sim/reset. The /_sim/ routes take NO authentication: the simulator is a local
test tool; do not expose it beyond the machine.

A scenario file (JSON) gives the same: {"unknownKeys": "invalid",
"keys": {"sk-a": "rate-limited:rpm=3", "sk-b": {"behaviour": "flaky", "rate": 0.3}},
"sessions": {"TOKEN": "rotate"}}. Flags override the scenario's entries.
`;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
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

async function runSim(flags: SimFlags): Promise<void> {
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

export function registerSim(program: Command): void {
  program
    .command("sim")
    .description("Run the upstream simulator: the OpenAI API and the ChatGPT web backend with scripted behaviour per key")
    .option("-p, --port <port>", "port to listen on", "8788")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--scenario <file>", "JSON scenario file: keys, sessions, unknownKeys")
    .option("--key <KEY=BEHAVIOUR>", "a key and its behaviour (repeatable)", collect)
    .option("--session <TOKEN=BEHAVIOUR>", "a web session token and its behaviour (repeatable)", collect)
    .option("--unknown-keys <mode>", "how keys not configured are answered: invalid (401) or ok")
    .addHelpText("after", HELP)
    .action((flags: SimFlags) => runSim(flags));
}
