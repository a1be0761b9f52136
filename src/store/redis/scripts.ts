/**
 * The Lua scripts that make each write atomic. Every key a script touches is
 * passed in KEYS. ioredis sends EVAL the first time on a connection and EVALSHA
 * after, and reloads a script Redis forgot (a restart) by itself.
 *
 * Event members are "{eventId}\t{json}" with score 0 in lex-ordered sorted
 * sets; a set is trimmed to its newest `cap` members after each write.
 */
import type { ChainableCommander, Redis } from "ioredis";
import { CONV_WRITE, MESSAGE_CHAIN, TOKEN_BY_HASH, TOKEN_CREATE, TOKEN_REVOKE, TOKEN_USAGE } from "./chat-scripts.ts";

const EVENT_HELPERS = `
local function trim(key, cap)
  if cap > 0 then redis.call('ZREMRANGEBYRANK', key, 0, -cap - 1) end
end
local function add_event(global, byCred, byKind, member, credCap)
  redis.call('ZADD', global, 0, member)
  redis.call('ZADD', byCred, 0, member)
  redis.call('ZADD', byKind, 0, member)
  trim(byCred, credCap)
end
`;

/**
 * Insert-if-absent, one event per added record, one change message per call.
 * KEYS: ids, events, then per item: cred, eventsByCred, eventsByKind.
 * ARGV: channel, cap, credCap, then per item: id, member, n, n field/value strings.
 * Returns the ids added.
 */
const INSERT = `${EVENT_HELPERS}
local cap, credCap = tonumber(ARGV[2]), tonumber(ARGV[3])
local added, kinds = {}, {}
local a = 4
for k = 3, #KEYS, 3 do
  local id, member, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  if redis.call('EXISTS', KEYS[k]) == 0 then
    redis.call('HSET', KEYS[k], unpack(ARGV, a + 3, a + 2 + n))
    redis.call('SADD', KEYS[1], id)
    redis.call('PERSIST', KEYS[k + 1])
    add_event(KEYS[2], KEYS[k + 1], KEYS[k + 2], member, credCap)
    kinds[KEYS[k + 2]] = true
    added[#added + 1] = id
  end
  a = a + 3 + n
end
if #added > 0 then
  trim(KEYS[2], cap)
  for key in pairs(kinds) do trim(key, cap) end
  redis.call('PUBLISH', ARGV[1], cjson.encode({ type = 'upsert', ids = added }))
end
return added
`;

/**
 * Remove-if-present with one event per removed record, one change message per call.
 * A removed credential's own event index expires after \`removedTtl\` seconds.
 * KEYS: ids, events, then per item: cred, eventsByCred, eventsByKind.
 * ARGV: channel, cap, credCap, removedTtl, then per item: id, member.
 */
const REMOVE = `${EVENT_HELPERS}
local cap, credCap, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local removed, kinds = {}, {}
local a = 5
for k = 3, #KEYS, 3 do
  local id, member = ARGV[a], ARGV[a + 1]
  if redis.call('DEL', KEYS[k]) == 1 then
    redis.call('SREM', KEYS[1], id)
    add_event(KEYS[2], KEYS[k + 1], KEYS[k + 2], member, credCap)
    if ttl > 0 then redis.call('EXPIRE', KEYS[k + 1], ttl) end
    kinds[KEYS[k + 2]] = true
    removed[#removed + 1] = id
  end
  a = a + 2
end
if #removed > 0 then
  trim(KEYS[2], cap)
  for key in pairs(kinds) do trim(key, cap) end
  redis.call('PUBLISH', ARGV[1], cjson.encode({ type = 'remove', ids = removed }))
end
return removed
`;

/**
 * Compare-and-set update: nil when the credential is gone or its state is not
 * one of \`from\` (nFrom = -1: no check). Otherwise applies the patch, adds 1
 * to rev, writes the event (member '' = none), announces, returns HGETALL.
 * KEYS: cred, events, eventsByCred, eventsByKind.
 * ARGV: channel, cap, credCap, id, nFrom, from..., member, nSet, set pairs..., nDel, del fields...
 */
const UPDATE = `${EVENT_HELPERS}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local a = 5
local nFrom = tonumber(ARGV[a])
if nFrom >= 0 then
  local state = redis.call('HGET', KEYS[1], 'state')
  local allowed = false
  for i = 1, nFrom do
    if ARGV[a + i] == state then allowed = true end
  end
  if not allowed then return false end
  a = a + nFrom
end
a = a + 1
local member = ARGV[a]
a = a + 1
local nSet = tonumber(ARGV[a])
if nSet > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, a + 1, a + nSet)) end
a = a + 1 + nSet
local nDel = tonumber(ARGV[a])
if nDel > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, a + 1, a + nDel)) end
redis.call('HINCRBY', KEYS[1], 'rev', 1)
if member ~= '' then
  add_event(KEYS[2], KEYS[3], KEYS[4], member, tonumber(ARGV[3]))
  trim(KEYS[2], tonumber(ARGV[2]))
  trim(KEYS[4], tonumber(ARGV[2]))
end
redis.call('PUBLISH', ARGV[1], cjson.encode({ type = 'upsert', ids = { ARGV[4] } }))
return redis.call('HGETALL', KEYS[1])
`;

/**
 * Appends events. KEYS: events, then per event: eventsByCred, eventsByKind.
 * ARGV: cap, credCap, then per event: member.
 */
const APPEND = `${EVENT_HELPERS}
local cap, credCap = tonumber(ARGV[1]), tonumber(ARGV[2])
local kinds = {}
for k = 2, #KEYS, 2 do
  add_event(KEYS[1], KEYS[k], KEYS[k + 1], ARGV[2 + k / 2], credCap)
  kinds[KEYS[k + 1]] = true
end
trim(KEYS[1], cap)
for key in pairs(kinds) do trim(key, cap) end
return #KEYS - 1
`;

/**
 * Adds traffic counters to a credential that still exists (never recreates a
 * removed one); lastUsedAt only moves forward. rev is left alone. The key
 * keeps the ids of the last 8 batches it took (field statsBatches, newest
 * first; several instances bump one key): a retried batch is not counted again.
 * KEYS: cred. ARGV: requests, failures, spentUsd, lastUsedAt ('' = none), batch id ('' = none).
 */
const BUMP = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[5] ~= '' then
  local seen = redis.call('HGET', KEYS[1], 'statsBatches') or ''
  if string.find(','..seen..',', ','..ARGV[5]..',', 1, true) then return 0 end
  local list, n = ARGV[5], 1
  for id in string.gmatch(seen, '[^,]+') do
    if n >= 8 then break end
    list, n = list..','..id, n + 1
  end
  redis.call('HSET', KEYS[1], 'statsBatches', list)
end
if ARGV[1] ~= '0' then redis.call('HINCRBY', KEYS[1], 'requests', ARGV[1]) end
if ARGV[2] ~= '0' then redis.call('HINCRBY', KEYS[1], 'failures', ARGV[2]) end
if ARGV[3] ~= '0' then redis.call('HINCRBYFLOAT', KEYS[1], 'spentUsd', ARGV[3]) end
if ARGV[4] ~= '' then
  local last = redis.call('HGET', KEYS[1], 'lastUsedAt')
  if not last or tonumber(last) < tonumber(ARGV[4]) then redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[4]) end
end
return 1
`;

/**
 * Counts a usage record once: the "seen" marker, the rollup change and its client token's count together.
 * KEYS: seen, hour rollup, hours, [client token]. ARGV: ttlSeconds, hour, group json, prompt, completion, cost, time.
 */
const USAGE = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('HINCRBY', KEYS[2], 'r' .. ARGV[3], 1)
redis.call('HINCRBY', KEYS[2], 'p' .. ARGV[3], ARGV[4])
redis.call('HINCRBY', KEYS[2], 'c' .. ARGV[3], ARGV[5])
redis.call('HINCRBYFLOAT', KEYS[2], 'u' .. ARGV[3], ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[2])
if KEYS[4] and redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('HINCRBY', KEYS[4], 'usedTokens', ARGV[4] + ARGV[5])
  local last = tonumber(redis.call('HGET', KEYS[4], 'lastUsedAt'))
  if last == nil or last < tonumber(ARGV[7]) then redis.call('HSET', KEYS[4], 'lastUsedAt', ARGV[7]) end
end
return 1
`;

/**
 * Reads many credentials in one reply: a JSON list with, per key, the HMGET
 * of the field names in ARGV (false for an absent field). One string for
 * JSON.parse costs the client far less than ~60 RESP strings per credential.
 * KEYS: cred keys. ARGV: field names.
 */
const READ = `
local out = {}
for i = 1, #KEYS do out[i] = redis.call('HMGET', KEYS[i], unpack(ARGV)) end
return cjson.encode(out)
`;

/** Takes a free lease or renews one's own. KEYS: lease. ARGV: owner, ttlMs. */
const LEASE_ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** Releases a lease only for its holder. KEYS: lease. ARGV: owner. */
const LEASE_RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const SCRIPTS = {
  kpInsert: INSERT,
  kpRemove: REMOVE,
  kpUpdate: UPDATE,
  kpAppend: APPEND,
  kpBump: BUMP,
  kpRead: READ,
  kpUsage: USAGE,
  kpLeaseAcquire: LEASE_ACQUIRE,
  kpLeaseRelease: LEASE_RELEASE,
  kpTokenCreate: TOKEN_CREATE,
  kpTokenByHash: TOKEN_BY_HASH,
  kpTokenRevoke: TOKEN_REVOKE,
  kpTokenUsage: TOKEN_USAGE,
  kpConvWrite: CONV_WRITE,
  kpMessageChain: MESSAGE_CHAIN,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type Arg = string | number;
type ScriptMethod<R> = (numKeys: number, keys: readonly string[], args: readonly Arg[]) => R;

export function defineScripts(redis: Redis): void {
  for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { lua });
}

/** Runs a script now. ioredis flattens the key and argument arrays into one command. */
export function runScript(redis: Redis, name: ScriptName, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
  const method = (redis as unknown as Record<ScriptName, ScriptMethod<Promise<unknown>>>)[name];
  return method.call(redis, keys.length, keys, args);
}

/** Queues a script on a pipeline. */
export function queueScript(pipeline: ChainableCommander, name: ScriptName, keys: readonly string[], args: readonly Arg[]): void {
  const method = (pipeline as unknown as Record<ScriptName, ScriptMethod<unknown>>)[name];
  method.call(pipeline, keys.length, keys, args);
}
