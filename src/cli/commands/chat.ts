/** `keypool chat`: registration and help only; the chat client loads when the command runs. */
import type { Command } from "commander";
import type { ChatFlags } from "../chat-action.ts";

const HELP = `
Modes:
  Interactive (a terminal, no prompt given): type a message, the reply streams
  as it is written; /new, /history, /conversations, /switch ID, /help, /quit.
  One-shot (a prompt as arguments, or on stdin when stdin is not a terminal):
  answers once and exits; the reply goes to stdout, errors to stderr (exit 1).

Each client id keeps its own current conversation in the store, so a later run
(interactive or not) carries on where the last one stopped.

Credentials come from the store (KEYPOOL_STORE, default sqlite:./keypool.db);
keys in KEYPOOL_KEYS are added to it. The api backend uses API keys against
KEYPOOL_UPSTREAM (default https://api.openai.com/v1); the web backend uses the
store's ChatGPT web sessions (credentials of kind "web").

Examples:
  keypool chat                                   # chat as $USER
  keypool chat --client support-42 --system "You are a support agent."
  keypool chat "Summarise RFC 9110 in one line"  # one answer
  echo "Translate: bonjour" | keypool chat --client translator --new
  keypool chat --backend web --client wechat-123
`;

export function registerChat(program: Command): void {
  program
    .command("chat")
    .description("Chat in the terminal through the pool (interactive), or answer one prompt (arguments or stdin)")
    .argument("[prompt...]", "answer this prompt once and exit (also read from stdin when it is not a terminal)")
    .option("-c, --client <id>", "client id whose conversation to continue (default: your user name)")
    .option("--conversation <id>", "continue this conversation of the client (id or unique prefix)")
    .option("-n, --new", "start a new conversation first")
    .option("-b, --backend <name>", "api (API keys) or web (ChatGPT web sessions)", "api")
    .option("-m, --model <model>", "model to ask (default: gpt-4o-mini on api, auto on web)")
    .option("-s, --system <text>", "system message sent first on every turn")
    .option("--max-context <tokens>", "context window the client may fill (default 8192)")
    .option("--max-response <tokens>", "tokens kept for the reply (default 1024)")
    .option("--timeout <ms>", "give up on a reply after this long")
    .option("--json", "one-shot: print the reply as JSON (id, conversationId, usage, ...)")
    .option("--store <spec>", "memory, sqlite:PATH or redis://HOST:PORT/DB (default: KEYPOOL_STORE)")
    .option("--upstream <url>", "API base URL (default: KEYPOOL_UPSTREAM)")
    .addHelpText("after", HELP)
    .action(async (words: string[], flags: ChatFlags) => (await import("../chat-action.ts")).runChat(words, flags));
}
