/** The chat CLI's slash commands. */
import type { ChatSession } from "../../chat/index.ts";
import { COMMANDS_HELP, describeConversation, findConversation, formatConversations, formatHistory } from "./render.ts";

export type CommandResult = "quit" | "done";

export async function runCommand(line: string, session: ChatSession, write: (text: string) => void): Promise<CommandResult> {
  const [name = "", ...args] = line.slice(1).trim().split(/\s+/);
  switch (name.toLowerCase()) {
    case "quit":
    case "exit":
    case "q":
      return "quit";
    case "help":
    case "?":
      write(`${COMMANDS_HELP}\n`);
      return "done";
    case "new":
    case "reset": {
      const c = await session.reset();
      write(`new conversation ${c.id}\n`);
      return "done";
    }
    case "history":
      write(`${formatHistory(await session.history())}\n`);
      return "done";
    case "conversations":
    case "list": {
      const current = await session.current();
      write(`${formatConversations(await session.conversations(), current?.id ?? null)}\n`);
      return "done";
    }
    case "switch": {
      const id = args[0];
      if (id === undefined) {
        write("usage: /switch ID (/conversations lists them)\n");
        return "done";
      }
      const found = findConversation(await session.conversations({ limit: 1000 }), id);
      if (typeof found === "string") {
        write(`${found}\n`);
        return "done";
      }
      const c = await session.switch(found.id);
      write(`switched to ${describeConversation(c)}\n`);
      return "done";
    }
    default:
      write(`unknown command /${name}; /help lists the commands\n`);
      return "done";
  }
}
