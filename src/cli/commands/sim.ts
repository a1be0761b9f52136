/** `keypool sim`: registration and help only; the simulator loads when the command runs (the other commands never pay for it). */
import type { Command } from "commander";
import type { SimFlags } from "../sim-action.ts";
import { KEY_TABLE } from "../../sim/spec/key-behaviour.ts";
import { describeTable } from "../../sim/spec/parse.ts";
import { SESSION_TABLE } from "../../sim/spec/session-behaviour.ts";

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
    .action(async (flags: SimFlags) => (await import("../sim-action.ts")).runSim(flags));
}
