/**
 * Lua for client tokens and conversations (values are JSON per field, see
 * json-hash.ts). Conversation indexes per client and message keys are named
 * inside the scripts from the prefix in ARGV: the store runs on one Redis
 * node (not Cluster).
 */

/**
 * Creates (or replaces) a token and its hash index.
 * KEYS: token, tokens (zset by createdAt), byHash (hash: token hash -> id).
 * ARGV: id, createdAt, token hash, field/value pairs...
 */
export const TOKEN_CREATE = `
local old = redis.call('HGET', KEYS[1], 'hash')
if old then redis.call('HDEL', KEYS[3], cjson.decode(old)) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4, #ARGV))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
return 1
`;

/** One round trip from a token hash to the token. KEYS: byHash. ARGV: prefix, token hash. */
export const TOKEN_BY_HASH = `
local id = redis.call('HGET', KEYS[1], ARGV[2])
if not id then return false end
return redis.call('HGETALL', ARGV[1] .. 'token:' .. id)
`;

/** Sets revokedAt once. KEYS: token. ARGV: at (JSON). Nil when the token is gone. */
export const TOKEN_REVOKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HGET', KEYS[1], 'revokedAt') == 'null' then redis.call('HSET', KEYS[1], 'revokedAt', ARGV[1]) end
return redis.call('HGETALL', KEYS[1])
`;

/** Adds to usedTokens, sets lastUsedAt; returns the new total. KEYS: token. ARGV: tokens, at. */
export const TOKEN_USAGE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local total = redis.call('HINCRBY', KEYS[1], 'usedTokens', ARGV[1])
redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[2])
return total
`;

/**
 * Writes a conversation and its messages in one step, and keeps the indexes
 * (all conversations and each client's, scored by updatedAt) in line.
 * mode 'create' replaces the conversation; mode 'patch' needs it to exist.
 * KEYS: conv, convs. ARGV: prefix, mode, nMessages, add ('1': add nMessages and the two token
 * counts to the counters, atomically with the rest), promptTokens, completionTokens, per
 * message: id, parent ('' = none), json; then field/value pairs. Returns HGETALL, or nil when a
 * patched conversation is gone.
 */
export const CONV_WRITE = `
local prefix, mode = ARGV[1], ARGV[2]
local exists = redis.call('EXISTS', KEYS[1]) == 1
if mode == 'patch' and not exists then return false end
local oldClient = exists and redis.call('HGET', KEYS[1], 'clientId') or 'null'
if mode == 'create' then redis.call('DEL', KEYS[1]) end
local a = 7
for i = 1, tonumber(ARGV[3]) do
  local key = prefix .. 'msg:' .. ARGV[a]
  redis.call('DEL', key)
  redis.call('HSET', key, 'json', ARGV[a + 2])
  if ARGV[a + 1] ~= '' then redis.call('HSET', key, 'parent', ARGV[a + 1]) end
  a = a + 3
end
if #ARGV >= a then redis.call('HSET', KEYS[1], unpack(ARGV, a, #ARGV)) end
if ARGV[4] == '1' then
  redis.call('HINCRBY', KEYS[1], 'messageCount', ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'promptTokens', ARGV[5])
  redis.call('HINCRBY', KEYS[1], 'completionTokens', ARGV[6])
end
local id = cjson.decode(redis.call('HGET', KEYS[1], 'id'))
local updated = tonumber(redis.call('HGET', KEYS[1], 'updatedAt'))
local client = redis.call('HGET', KEYS[1], 'clientId')
redis.call('ZADD', KEYS[2], updated, id)
if oldClient ~= 'null' and oldClient ~= client then
  redis.call('ZREM', prefix .. 'convs:client:' .. cjson.decode(oldClient), id)
end
if client ~= 'null' then redis.call('ZADD', prefix .. 'convs:client:' .. cjson.decode(client), updated, id) end
return redis.call('HGETALL', KEYS[1])
`;

/**
 * The chain of parents ending at a message, newest first, at most `limit`.
 * ARGV: prefix, message id, limit. Returns the messages' JSON.
 */
export const MESSAGE_CHAIN = `
local out = {}
local id = ARGV[2]
local limit = tonumber(ARGV[3])
while id and #out < limit do
  local m = redis.call('HMGET', ARGV[1] .. 'msg:' .. id, 'json', 'parent')
  if not m[1] then break end
  out[#out + 1] = m[1]
  id = m[2]
end
return out
`;
