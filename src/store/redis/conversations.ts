/**
 * Conversations and their messages. A conversation is a hash (JSON per
 * field) indexed by updatedAt, overall and per client; a message is a hash
 * with its JSON and its parent, so a chain is walked inside one script.
 * Appending messages and moving the conversation's head is one script.
 */
import type { TokenUsage } from "../../pool/types.ts";
import type { ChatMessage, Conversation, ConversationPatch, ConversationRepo } from "../types.ts";
import { execPipeline } from "./batches.ts";
import { decodeJsonHash, encodeJsonHash } from "./json-hash.ts";
import type { StoreContext } from "./options.ts";
import { runScript } from "./scripts.ts";

const DEFAULT_LIMIT = 100;
const NO_TOKENS: TokenUsage = { promptTokens: 0, completionTokens: 0 };

export function redisConversationRepo({ link, keys }: StoreContext): ConversationRepo {
  const write = (what: string, id: string, mode: "create" | "patch", fields: object, messages: readonly ChatMessage[] = [], tokens: TokenUsage = NO_TOKENS): Promise<Conversation | null> =>
    link.run(what, async (redis) => {
      const add = messages.length > 0 || tokens.promptTokens !== 0 || tokens.completionTokens !== 0;
      const args: (string | number)[] = [keys.prefix, mode, messages.length, add ? 1 : 0, tokens.promptTokens, tokens.completionTokens];
      for (const m of messages) args.push(m.id, m.parentMessageId ?? "", JSON.stringify(m));
      args.push(...encodeJsonHash(fields));
      const reply = await runScript(redis, "kpConvWrite", [keys.conv(id), keys.convs], args);
      return decodeJsonHash<Conversation>(reply as string[] | null);
    });

  /** Drops `id` from a patch: a conversation keeps the id it was created with. */
  const patchFields = (patch: ConversationPatch): object => {
    const { id: _id, ...rest } = patch as ConversationPatch & { id?: string };
    return rest;
  };

  return {
    async create(conversation) {
      await write("conversations.create", conversation.id, "create", conversation);
    },
    get: (id) => link.run("conversations.get", async (redis) => decodeJsonHash<Conversation>(await redis.hgetall(keys.conv(id)))),
    list: (q = {}) =>
      link.run("conversations.list", async (redis) => {
        const index = q.clientId === undefined ? keys.convs : keys.convsByClient(q.clientId);
        const limit = q.limit ?? DEFAULT_LIMIT;
        if (limit <= 0) return [];
        const ids = await redis.zrange(index, "0", String(limit - 1), "REV");
        if (ids.length === 0) return [];
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hgetall(keys.conv(id));
        const hashes = (await execPipeline(pipeline)) as Record<string, string>[];
        return hashes.map((h) => decodeJsonHash<Conversation>(h)).filter((c): c is Conversation => c !== null);
      }),
    update: (id, patch) => write("conversations.update", id, "patch", patchFields(patch)),
    append: (conversationId, messages, patch, tokens) => write("conversations.append", conversationId, "patch", patchFields(patch), messages, tokens),
    message: (id) =>
      link.run("conversations.message", async (redis) => {
        const json = await redis.hget(keys.message(id), "json");
        return json === null ? null : (JSON.parse(json) as ChatMessage);
      }),
    chain: (messageId, limit) =>
      link.run("conversations.chain", async (redis) => {
        if (limit <= 0) return [];
        const reply = (await runScript(redis, "kpMessageChain", [], [keys.prefix, messageId, limit])) as string[];
        return reply.map((json) => JSON.parse(json) as ChatMessage).toReversed();
      }),
    current: (clientId) => link.run("conversations.current", (redis) => redis.hget(keys.currentConv, clientId)),
    async setCurrent(clientId, conversationId) {
      await link.run("conversations.setCurrent", (redis) => redis.hset(keys.currentConv, clientId, conversationId));
    },
  };
}
