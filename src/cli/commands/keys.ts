/**
 * `keypool keys add|list|rm|enable|disable|probe`. Registration only: the
 * work (and its imports) loads when a keys command runs.
 */
import type { Command } from "commander";
import { CREDENTIAL_STATES } from "../../pool/types.ts";
import type { AddFlags, TargetFlags } from "../keys-actions.ts";

const actions = () => import("../keys-actions.ts");

function target(cmd: Command): Command {
  return cmd
    .option("--store <spec>", "the store to work on: memory, sqlite:PATH, redis://HOST:PORT/DB (default: KEYPOOL_STORE, else sqlite:./keypool.db)")
    .option("--url <url>", "work on a running gateway instead, through its admin API (e.g. http://127.0.0.1:8787)")
    .option("--admin-token <token>", "the gateway's admin token (default: KEYPOOL_ADMIN_TOKEN)");
}

// ---- registration -------------------------------------------------------------

const ADD_HELP = `
Import format (files, stdin, arguments): one credential per line, as
  KEY                      sk-...
  KEY LABEL...             sk-... team A
  a JSON object            {"secret": "sk-...", "label": "relay", "baseURL": "https://relay.example/v1"}
Blank lines and # comments are skipped. A malformed line is reported with its
line number; the valid lines are added all the same (exit code 1 if any was malformed).

Examples:
  keypool keys add sk-aaaa... sk-bbbb...
  keypool keys add --from-file keys.txt --label batch-7
  cat keys.txt | keypool keys add -
  keypool keys add --from-redis-set redis://127.0.0.1:6379/0/ChatGPTKey
  keypool keys add --url http://127.0.0.1:8787 --from-file keys.txt   (admin token from KEYPOOL_ADMIN_TOKEN)
`;

export function registerKeys(program: Command): void {
  const keys = program
    .command("keys")
    .description("Manage the pool's credentials (on the local store, or a running gateway with --url)")
    .addHelpText(
      "after",
      "\nEach subcommand works on the local store (--store, else KEYPOOL_STORE, else sqlite:./keypool.db),\nor on a running gateway with --url and its admin token (--admin-token or KEYPOOL_ADMIN_TOKEN).\n\nExamples:\n  keypool keys add --from-file keys.txt\n  keypool keys list --state retired\n  keypool keys disable key_0123456789abcdef --url http://127.0.0.1:8787\n  keypool keys probe --all\n",
    );

  target(keys.command("add").argument("[keys...]", "keys, or - to read lines from stdin"))
    .description("Add keys from arguments, a file, stdin or a Redis set")
    .option("--from-file <file>", "read keys from a file, one per line")
    .option("--from-redis-set <url>", "import the members of a Redis set: redis://HOST:PORT/DB/SETNAME")
    .option("--label <label>", "label for keys that have none")
    .option("--upstream <url>", "upstream base URL for these keys (default: the pool's)")
    .option("--models <list>", "model allow-list for these keys, comma-separated")
    .option("--weight <n>", "selection weight for these keys")
    .option("--json", "print the result per line as JSON")
    .addHelpText("after", ADD_HELP)
    .action(async (args: string[], flags: AddFlags) => (await actions()).addKeys(args, flags));

  target(keys.command("list").alias("ls"))
    .description("List keys: masked key, label, state, reason, since, requests, last use")
    .option("--state <state>", `only keys in this state (${CREDENTIAL_STATES.join(", ")})`)
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  keypool keys list\n  keypool keys list --state retired --json\n  keypool keys list --url http://127.0.0.1:8787\n")
    .action(async (flags: TargetFlags & { json?: boolean; state?: string }) => (await actions()).listKeys(flags));

  target(keys.command("rm").alias("remove").argument("<ids...>", "key ids (key_...) or the keys themselves"))
    .description("Remove keys from the pool")
    .addHelpText("after", "\nExamples:\n  keypool keys rm key_0123456789abcdef\n  keypool keys rm key_0123456789abcdef --url http://127.0.0.1:8787\n")
    .action(async (ids: string[], flags: TargetFlags) => (await actions()).removeKeys(ids, flags));

  for (const action of ["enable", "disable"] as const) {
    target(keys.command(action).argument("<ids...>", "key ids (key_...) or the keys themselves"))
      .description(action === "enable" ? "Put keys back into service (any state)" : "Take keys out of service until enabled again")
      .option("--note <text>", "why (kept in the audit log)")
      .addHelpText("after", `\nExamples:\n  keypool keys ${action} key_0123456789abcdef\n  keypool keys ${action} key_0123456789abcdef --note "billing issue" --url http://127.0.0.1:8787\n`)
      .action(async (ids: string[], flags: TargetFlags & { note?: string }) => (await actions()).switchKeys(action, ids, flags));
  }

  target(keys.command("probe").argument("[ids...]", "key ids to probe"))
    .description("Check keys against the upstream now (GET /models, billing where served) and move them to the state found")
    .option("--all", "probe every key that is not retired or disabled")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  keypool keys probe --all\n  keypool keys probe key_0123456789abcdef\n  keypool keys probe --all --url http://127.0.0.1:8787\n")
    .action(async (ids: string[], flags: TargetFlags & { all?: boolean; json?: boolean }) => (await actions()).probeKeys(ids, flags));
}
