/** `keypool chat` when it runs: an interactive chat in the terminal, or one answer for scripts. */
import { userInfo } from "node:os";
import { ChatClient, type SendMessageOptions } from "../chat/index.ts";
import { readEnv } from "../config/env.ts";
import { KeypoolError, ValidationError } from "../errors/index.ts";
import type { Pool } from "../pool/pool.ts";
import { describeConversation, findConversation } from "./chat/render.ts";
import { readAll, runOnce } from "./chat/one-shot.ts";
import { runRepl } from "./chat/repl.ts";
import { openCliPool } from "./open-pool.ts";

export interface ChatFlags {
  client?: string;
  conversation?: string;
  new?: boolean;
  backend: string;
  model?: string;
  system?: string;
  maxContext?: string;
  maxResponse?: string;
  timeout?: string;
  json?: boolean;
  store?: string;
  upstream?: string;
}

function defaultClient(): string {
  try {
    const name = userInfo().username;
    if (name !== "") return name;
  } catch {
    // no user entry (containers): fall through
  }
  return process.env.USER ?? process.env.USERNAME ?? "default";
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new ValidationError(`${flag} "${value}": must be a positive integer`, flag);
  return n;
}

/** The credentials the backend needs must exist and not all be out of service. */
function preflight(pool: Pool, backend: string): void {
  const kind = backend === "web" ? "web" : "api";
  const what = kind === "web" ? "web sessions" : "API keys";
  const mine = pool.list().filter((v) => v.kind === kind);
  if (mine.length === 0) {
    const how =
      kind === "web"
        ? `add a ChatGPT session as a credential of kind web, e.g. the line {"kind":"web","secret":"SESSION_TOKEN","meta":{"cfClearance":"...","userAgent":"..."}} to \`keypool keys add\``
        : "add keys with `keypool keys add`, or set KEYPOOL_KEYS";
    throw new KeypoolError("KP_POOL_EMPTY", `the pool has no ${what} for the ${backend} backend; ${how} (store: ${pool.store.kind})`, { status: 503 });
  }
  const usable = mine.filter((v) => v.state === "active" || v.state === "cooling");
  if (usable.length === 0) {
    const states = new Map<string, number>();
    for (const v of mine) states.set(v.state, (states.get(v.state) ?? 0) + 1);
    const list = [...states].map(([s, n]) => `${n} ${s}`).join(", ");
    throw new KeypoolError("KP_NO_USABLE_CREDENTIAL", `none of the pool's ${what} can be used (${list}); see \`keypool keys list\``, { status: 503 });
  }
}

export async function runChat(words: string[], flags: ChatFlags): Promise<void> {
  if (flags.backend !== "api" && flags.backend !== "web") throw new ValidationError(`--backend "${flags.backend}": must be api or web`, "--backend");
  const clientId = flags.client ?? defaultClient();
  const maxContextTokens = positiveInt("--max-context", flags.maxContext);
  const maxResponseTokens = positiveInt("--max-response", flags.maxResponse);
  const timeoutMs = positiveInt("--timeout", flags.timeout);
  const interactive = words.length === 0 && process.stdin.isTTY === true;
  const prompt = words.length > 0 ? words.join(" ") : interactive ? "" : await readAll(process.stdin);
  if (!interactive && prompt.trim() === "") throw new ValidationError("the prompt is empty (give it as an argument or on stdin)", "prompt");
  const env = readEnv();
  const pool = await openCliPool({ ...(flags.store === undefined ? {} : { store: flags.store }), ...(flags.upstream === undefined ? {} : { upstream: flags.upstream }) }, env.keys.length > 0 ? { keys: env.keys } : {});
  try {
    preflight(pool, flags.backend);
    const chat = new ChatClient({
      pool,
      backend: flags.backend,
      ...(flags.model === undefined ? (flags.backend === "api" ? { model: "gpt-4o-mini" } : {}) : { model: flags.model }),
      ...(flags.system === undefined ? {} : { systemMessage: flags.system }),
      ...(maxContextTokens === undefined ? {} : { maxContextTokens }),
      ...(maxResponseTokens === undefined ? {} : { maxResponseTokens }),
    });
    const session = chat.session(clientId);
    if (flags.conversation !== undefined) {
      const found = findConversation(await session.conversations({ limit: 1000 }), flags.conversation);
      if (typeof found === "string") throw new ValidationError(`--conversation: ${found}`, "--conversation");
      await session.switch(found.id);
    }
    if (flags.new === true) await session.reset();
    const send: SendMessageOptions = timeoutMs === undefined ? {} : { timeoutMs };
    if (!interactive) {
      await runOnce({ session, prompt, output: process.stdout, json: flags.json === true, send });
      return;
    }
    const current = await session.current();
    const banner = [
      `keypool chat · client ${clientId} · ${flags.backend} backend · model ${chat.model} · store ${pool.store.kind}`,
      current === null ? "a new conversation starts with your first message" : `conversation ${describeConversation(current)}`,
      "/help lists the commands; /quit leaves",
    ].join("\n");
    await runRepl({ session, input: process.stdin, output: process.stdout, banner, send });
  } finally {
    await pool.close();
  }
}

