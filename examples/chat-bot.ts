/**
 * A chat bot's skeleton: the HTTP webhook that chat platforms' bots reduce to.
 * It receives `{ clientId, text }` (a WeChat or Slack user, a group, an app
 * user) and answers through that client's own conversation:
 * `chat.session(clientId)`. `/reset` starts a new conversation.
 *
 *   KEYPOOL_KEYS=sk-a,sk-b PORT=3000 node examples/chat-bot.ts
 *   curl -s localhost:3000/webhook -d '{"clientId":"wechat:alice","text":"hello"}'
 *
 * Conversations live in the pool's store: with KEYPOOL_STORE=sqlite:./bot.db
 * a restarted bot carries on where each client was.
 */
import { createServer, type IncomingMessage } from "node:http";
import { ChatClient, createPool, KeypoolError } from "keypool";

const pool = await createPool({
  store: process.env.KEYPOOL_STORE ?? "memory",
  upstream: process.env.KEYPOOL_UPSTREAM ?? "https://api.openai.com/v1",
  keys: (process.env.KEYPOOL_KEYS ?? "").split(",").filter((k) => k !== ""),
});
const chat = new ChatClient({ pool, model: process.env.MODEL ?? "gpt-4o-mini", systemMessage: "You are a friendly assistant in a chat app. Be brief." });

async function readJson(req: IncomingMessage): Promise<{ clientId?: unknown; text?: unknown }> {
  let body = "";
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 64 * 1024) throw new Error("body too large");
  }
  return JSON.parse(body) as { clientId?: unknown; text?: unknown };
}

const server = createServer(async (req, res) => {
  const answer = (status: number, body: unknown): void => void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  if (req.method !== "POST" || req.url !== "/webhook") return answer(404, { error: "POST /webhook" });
  let msg: { clientId?: unknown; text?: unknown };
  try {
    msg = await readJson(req);
  } catch {
    return answer(400, { error: "a JSON body { clientId, text } is expected" });
  }
  const { clientId, text } = msg;
  if (typeof clientId !== "string" || clientId === "" || typeof text !== "string" || text.trim() === "") {
    return answer(400, { error: "clientId and text must be non-empty strings" });
  }
  const session = chat.session(clientId);
  try {
    if (text.trim() === "/reset") {
      const fresh = await session.reset();
      return answer(200, { reply: "Starting over.", conversationId: fresh.id });
    }
    const reply = await session.send(text, { timeoutMs: 60_000 });
    return answer(200, { reply: reply.text, conversationId: reply.conversationId });
  } catch (err) {
    // keypool's errors carry a stable code (KP_ALL_COOLING, KP_NO_USABLE_CREDENTIAL, ...).
    const code = err instanceof KeypoolError ? err.code : "internal";
    return answer(503, { error: "the assistant is unavailable, try again shortly", code });
  }
});

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  console.log(`chat bot listening on http://127.0.0.1:${port}/webhook`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server.close();
    void pool.close();
  });
}
