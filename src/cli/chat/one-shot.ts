/** Answers one prompt (an argument, or stdin when it is not a terminal) and returns: for scripts. */
import type { Readable, Writable } from "node:stream";
import type { ChatSession, SendMessageOptions } from "../../chat/index.ts";
import { ValidationError } from "../../errors/index.ts";

export async function readAll(input: Readable): Promise<string> {
  let text = "";
  input.setEncoding("utf8");
  for await (const chunk of input) text += chunk as string;
  return text;
}

export interface OneShotOptions {
  session: ChatSession;
  prompt: string;
  output: Writable;
  json: boolean;
  send?: Omit<SendMessageOptions, "onProgress" | "conversationId" | "parentMessageId">;
}

export async function runOnce(o: OneShotOptions): Promise<void> {
  const prompt = o.prompt.trim();
  if (prompt === "") throw new ValidationError("the prompt is empty (give it as an argument or on stdin)", "prompt");
  if (o.json) {
    const reply = await o.session.send(prompt, { ...o.send });
    o.output.write(`${JSON.stringify(reply, null, 2)}\n`);
    return;
  }
  let ended = true;
  await o.session.send(prompt, {
    ...o.send,
    onProgress: (p) => {
      o.output.write(p.delta);
      ended = p.text.endsWith("\n");
    },
  });
  if (!ended) o.output.write("\n");
}
