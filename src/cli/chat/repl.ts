/**
 * The interactive chat: a prompt, the reply streamed as it is written, slash
 * commands. Ctrl+C stops a reply being written (nothing of it is stored);
 * at the prompt it leaves, as do /quit and Ctrl+D.
 */
import { createInterface } from "node:readline/promises";
import type { Readable, Writable } from "node:stream";
import type { ChatSession, SendMessageOptions } from "../../chat/index.ts";
import { ChatAbortedError } from "../../chat/index.ts";
import { KeypoolError } from "../../errors/index.ts";
import { runCommand } from "./commands.ts";

export interface ReplOptions {
  session: ChatSession;
  input: Readable;
  output: Writable;
  banner: string;
  send?: Omit<SendMessageOptions, "signal" | "onProgress" | "conversationId" | "parentMessageId">;
}

export function errorLine(err: unknown): string {
  if (KeypoolError.is(err)) return `error: ${err.message} [${err.code}]`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}

export async function runRepl(o: ReplOptions): Promise<void> {
  const write = (text: string): void => void o.output.write(text);
  const rl = createInterface({ input: o.input, output: o.output, terminal: true, historySize: 200 });
  let replying: AbortController | null = null;
  rl.on("SIGINT", () => {
    if (replying !== null) replying.abort();
    else rl.close();
  });
  rl.on("close", () => replying?.abort());
  write(`${o.banner}\n`);
  try {
    for (;;) {
      let line: string;
      try {
        line = (await rl.question("you> ")).trim();
      } catch {
        break; // closed (Ctrl+D, Ctrl+C at the prompt)
      }
      if (line === "") continue;
      if (line.startsWith("/")) {
        try {
          if ((await runCommand(line, o.session, write)) === "quit") break;
        } catch (err) {
          write(`${errorLine(err)}\n`);
        }
        continue;
      }
      replying = new AbortController();
      write("\n");
      try {
        await o.session.send(line, { ...o.send, signal: replying.signal, onProgress: (p) => write(p.delta) });
        write("\n\n");
      } catch (err) {
        write(err instanceof ChatAbortedError ? "\n(stopped: nothing of this turn was stored)\n\n" : `\n${errorLine(err)}\n\n`);
      } finally {
        replying = null;
      }
    }
  } finally {
    rl.close();
  }
}
