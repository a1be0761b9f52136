/** Options of the Redis store and the context its repositories share. */
import { randomId } from "../../util/ids.ts";
import { ConfigError } from "../../errors/config-error.ts";
import { plainBox, type SecretBox } from "../secret-box.ts";
import type { RedisLink } from "./connection.ts";
import { DEFAULT_PREFIX, keyLayout, type KeyLayout } from "./keys.ts";

export interface RedisStoreOptions {
  /** Starts every key and the change channel; several pools can share one database. Default `keypool:`. */
  prefix?: string;
  /** Seals `secret` and `meta` at rest. Default: plain text. */
  secretBox?: SecretBox;
  /** Names this process's connections (`CLIENT LIST`). Default: a random id. */
  instance?: string;
  /** Longest a command may wait for Redis before failing with StoreError. Default 2,000 ms. */
  commandTimeoutMs?: number;
  /** Newest audit events kept in the global log and in each per-kind index. Default 100,000. */
  eventCap?: number;
  /** Newest audit events kept per credential. Default 1,000. */
  eventCapPerCredential?: number;
  /** How long a removed credential's own event index stays queryable. Default 30 days. */
  removedEventsTtlSec?: number;
  /** How long a usage record id is remembered, so a replay is not counted twice. Default 2 days. */
  usageDedupTtlSec?: number;
}

export interface Settings {
  prefix: string;
  secretBox: SecretBox;
  instance: string;
  commandTimeoutMs: number;
  eventCap: number;
  eventCapPerCredential: number;
  removedEventsTtlSec: number;
  usageDedupTtlSec: number;
}

export const DEFAULTS = {
  commandTimeoutMs: 2_000,
  eventCap: 100_000,
  eventCapPerCredential: 1_000,
  removedEventsTtlSec: 30 * 86_400,
  usageDedupTtlSec: 2 * 86_400,
} as const;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(name, `must be a positive integer, got ${value}`);
  return value;
}

export function resolveSettings(options: RedisStoreOptions = {}): Settings {
  return {
    prefix: options.prefix ?? DEFAULT_PREFIX,
    secretBox: options.secretBox ?? plainBox,
    instance: options.instance ?? randomId("inst", 4),
    commandTimeoutMs: positive("commandTimeoutMs", options.commandTimeoutMs, DEFAULTS.commandTimeoutMs),
    eventCap: positive("eventCap", options.eventCap, DEFAULTS.eventCap),
    eventCapPerCredential: positive("eventCapPerCredential", options.eventCapPerCredential, DEFAULTS.eventCapPerCredential),
    removedEventsTtlSec: positive("removedEventsTtlSec", options.removedEventsTtlSec, DEFAULTS.removedEventsTtlSec),
    usageDedupTtlSec: positive("usageDedupTtlSec", options.usageDedupTtlSec, DEFAULTS.usageDedupTtlSec),
  };
}

/** What every repository of one store works with. */
export interface StoreContext {
  link: RedisLink;
  keys: KeyLayout;
  settings: Settings;
}

export function makeContext(link: RedisLink, settings: Settings): StoreContext {
  return { link, keys: keyLayout(settings.prefix), settings };
}
