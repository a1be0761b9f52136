/** `keypool tokens add|list|rm`. Registration only: the work loads when a tokens command runs. */
import type { Command } from "commander";
import type { AddFlags, TargetFlags } from "../tokens-actions.ts";

const actions = () => import("../tokens-actions.ts");

function target(cmd: Command): Command {
  return cmd
    .option("--store <spec>", "the store: memory, sqlite:PATH, redis://HOST:PORT/DB (default: KEYPOOL_STORE, else sqlite:./keypool.db)")
    .option("--url <url>", "work on a running gateway instead, through its admin API")
    .option("--admin-token <token>", "the gateway's admin token (default: KEYPOOL_ADMIN_TOKEN)");
}

export function registerTokens(program: Command): void {
  const tokens = program
    .command("tokens")
    .description("Manage the gateway's client tokens (stored hashed; shown once at creation)")
    .addHelpText(
      "after",
      "\nClients send a token as their API key (Authorization: Bearer kp-...). While no token exists and the\ngateway listens on loopback only, /v1 is open to local callers; once one exists, every call needs one.\n\nExamples:\n  keypool tokens add --name mobile-app --rpm 60\n  keypool tokens list\n  keypool tokens rm tok_0123456789abcdef\n",
    );

  target(tokens.command("add"))
    .description("Create a client token and print it (once)")
    .requiredOption("--name <name>", "who or what the token is for")
    .option("--models <list>", "models it may use, comma-separated (default: all)")
    .option("--quota-tokens <n>", "tokens (prompt + completion) it may spend in all")
    .option("--rpm <n>", "requests per minute it may make (all gateways on the store together)")
    .option("--expires <date>", "when it stops working: 2026-12-31, an ISO time, or 30d / 12h")
    .option("--json", "print the token and its record as JSON")
    .addHelpText("after", '\nExamples:\n  keypool tokens add --name mobile-app\n  keypool tokens add --name intern --models gpt-4o-mini --quota-tokens 1000000 --rpm 60 --expires 30d\n  keypool tokens add --name ci --url http://127.0.0.1:8787\n')
    .action(async (flags: AddFlags) => (await actions()).addToken(flags));

  target(tokens.command("list").alias("ls"))
    .description("List client tokens (never the tokens themselves)")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  keypool tokens list\n  keypool tokens list --json --url http://127.0.0.1:8787\n")
    .action(async (flags: TargetFlags & { json?: boolean }) => (await actions()).listTokens(flags));

  target(tokens.command("rm").alias("revoke").argument("<ids...>", "token ids (tok_...)"))
    .description("Revoke client tokens (every gateway refuses them within about a second)")
    .addHelpText("after", "\nExamples:\n  keypool tokens rm tok_0123456789abcdef\n")
    .action(async (ids: string[], flags: TargetFlags) => (await actions()).removeTokens(ids, flags));
}
