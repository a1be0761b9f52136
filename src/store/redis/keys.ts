/**
 * Where everything lives in Redis. Every name starts with the store's prefix,
 * so several pools (or test runs) share one Redis database without meeting.
 *
 *   {p}creds               set      ids of every credential
 *   {p}cred:{id}           hash     one credential (see hash-codec.ts)
 *   {p}events              zset     every audit event, lex-ordered "{eventId}\t{json}"
 *   {p}events:cred:{id}    zset     the same members, one credential's events
 *   {p}events:kind:{kind}  zset     the same members, one kind's events
 *   {p}usage:seen:{id}     string   a usage record already counted (expires)
 *   {p}usage:hour:{ms}     hash     hourly rollup: "{metric}{json [cred, token, model]}" -> sum
 *   {p}usage:hours         zset     the hours that have a rollup (score = hour start)
 *   {p}lease:{name}        string   the lease holder, with a PX expiry
 *   {p}counter:{name}      string   a shared counter
 *   {p}meta                hash     store-wide settings (e.g. the fingerprint salt)
 *   {p}changes             channel  the change feed (JSON `Change` messages)
 *   {p}token:{id}          hash     a client token (JSON per field, see json-hash.ts)
 *   {p}tokens              zset     token ids by createdAt
 *   {p}tokens:by-hash      hash     token hash -> token id
 *   {p}token-rate:{id}     hash     instance -> its request window of the token, JSON {window, at} (expires)
 *   {p}conv:{id}           hash     a conversation (JSON per field)
 *   {p}convs               zset     conversation ids by updatedAt
 *   {p}convs:client:{id}   zset     one client's conversation ids by updatedAt
 *   {p}convs:current       hash     client id -> its current conversation id
 *   {p}msg:{id}            hash     a chat message: json, parent (absent for a first message)
 *
 * chat-scripts.ts spells `token:`, `convs:client:` and `msg:` itself (keys it
 * finds inside a script); keep them in step with these.
 */
import type { AuditKind } from "../../pool/types.ts";

export const DEFAULT_PREFIX = "keypool:";

export interface KeyLayout {
  readonly prefix: string;
  readonly ids: string;
  cred(id: string): string;
  readonly events: string;
  eventsByCred(id: string): string;
  eventsByKind(kind: AuditKind): string;
  usageSeen(id: string): string;
  usageHour(hour: number): string;
  readonly usageHours: string;
  lease(name: string): string;
  counter(name: string): string;
  readonly meta: string;
  readonly changes: string;
  token(id: string): string;
  readonly tokens: string;
  readonly tokensByHash: string;
  tokenRate(id: string): string;
  conv(id: string): string;
  readonly convs: string;
  convsByClient(clientId: string): string;
  readonly currentConv: string;
  message(id: string): string;
}

export function keyLayout(prefix: string = DEFAULT_PREFIX): KeyLayout {
  return {
    prefix,
    ids: `${prefix}creds`,
    cred: (id) => `${prefix}cred:${id}`,
    events: `${prefix}events`,
    eventsByCred: (id) => `${prefix}events:cred:${id}`,
    eventsByKind: (kind) => `${prefix}events:kind:${kind}`,
    usageSeen: (id) => `${prefix}usage:seen:${id}`,
    usageHour: (hour) => `${prefix}usage:hour:${hour}`,
    usageHours: `${prefix}usage:hours`,
    lease: (name) => `${prefix}lease:${name}`,
    counter: (name) => `${prefix}counter:${name}`,
    meta: `${prefix}meta`,
    changes: `${prefix}changes`,
    token: (id) => `${prefix}token:${id}`,
    tokens: `${prefix}tokens`,
    tokensByHash: `${prefix}tokens:by-hash`,
    tokenRate: (id) => `${prefix}token-rate:${id}`,
    conv: (id) => `${prefix}conv:${id}`,
    convs: `${prefix}convs`,
    convsByClient: (clientId) => `${prefix}convs:client:${clientId}`,
    currentConv: `${prefix}convs:current`,
    message: (id) => `${prefix}msg:${id}`,
  };
}
