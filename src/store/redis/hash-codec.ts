/**
 * A credential as a Redis hash: one field per property. Strings are stored
 * as they are and numbers as decimal text (so HINCRBY/HINCRBYFLOAT work on the
 * counters); lists and maps are JSON; a null is an absent field. `secret` and
 * `meta` pass through the store's SecretBox.
 */
import type { CredentialRecord } from "../../pool/types.ts";
import type { SecretBox } from "../secret-box.ts";
import { StoreError } from "../store-error.ts";
import type { CredentialPatch } from "../types.ts";

type Codec = "str" | "str?" | "num" | "num?" | "json" | "json?" | "secret" | "secret-json";

const FIELDS = {
  id: "str",
  kind: "str",
  secret: "secret",
  fingerprint: "str",
  label: "str?",
  baseURL: "str?",
  authStyle: "str",
  organization: "str?",
  project: "str?",
  proxy: "str?",
  weight: "num",
  models: "json?",
  missingModels: "json",
  maxInFlight: "num?",
  budgetUsd: "num?",
  rpm: "num?",
  tpm: "num?",
  meta: "secret-json",
  state: "str",
  reason: "str?",
  since: "num",
  coolUntil: "num",
  modelCooldowns: "json",
  ejections: "num",
  rateLimitStreak: "num",
  spentUsd: "num",
  requests: "num",
  failures: "num",
  lastUsedAt: "num?",
  createdAt: "num",
  rev: "num",
} as const satisfies Record<keyof CredentialRecord, Codec>;

type Field = keyof typeof FIELDS;
const isField = (name: string): name is Field => Object.hasOwn(FIELDS, name);

/** Stored text for one value; null means "no field". */
function encodeValue(codec: Codec, value: unknown, box: SecretBox): string | null {
  if (value === null || value === undefined) return null;
  switch (codec) {
    case "str":
    case "str?":
    case "num":
    case "num?":
      return String(value);
    case "json":
    case "json?":
      return JSON.stringify(value);
    case "secret":
      return box.seal(String(value));
    case "secret-json":
      return box.seal(JSON.stringify(value));
  }
}

/** Field/value pairs for HSET (absent fields are nulls). */
export function encodeRecord(record: CredentialRecord, box: SecretBox): string[] {
  const out: string[] = [];
  for (const name of FIELD_NAMES) {
    const text = encodeValue(FIELDS[name], record[name], box);
    if (text !== null) out.push(name, text);
  }
  return out;
}

export interface EncodedPatch {
  /** Field/value pairs to HSET. */
  set: string[];
  /** Fields to HDEL (set to null). */
  del: string[];
}

export function encodePatch(patch: CredentialPatch, box: SecretBox): EncodedPatch {
  const set: string[] = [];
  const del: string[] = [];
  for (const [name, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    // `rev` is the store's to count; unknown names would leave stray fields behind.
    if (!isField(name) || name === "rev" || name === "id") throw new StoreError(`cannot update credential field "${name}"`);
    const text = encodeValue(FIELDS[name], value, box);
    if (text === null) del.push(name);
    else set.push(name, text);
  }
  return { set, del };
}

/** The field names in a fixed order: the read script returns values (HMGET) in this order. */
export const FIELD_NAMES = Object.keys(FIELDS) as Field[];
const AT = Object.fromEntries(FIELD_NAMES.map((name, i) => [name, i])) as Record<Field, number>;

/** One stored value as HMGET gives it: a string, or null/false (Lua's nil through cjson) when absent. */
export type StoredValue = string | null | false;

/**
 * A credential from its values in FIELD_NAMES order; null when it does not
 * exist. Written out field by field: 100,000 of these make a pool's list.
 */
export function decodeRow(row: readonly StoredValue[], box: SecretBox): CredentialRecord | null {
  const id = row[AT.id];
  if (typeof id !== "string") return null;
  let field: Field = "id";
  const text = (name: Field): string | null => {
    field = name;
    const value = row[AT[name]];
    return typeof value === "string" ? value : null;
  };
  const str = (name: Field): string => {
    const value = text(name);
    if (value === null) throw new Error("missing");
    return value;
  };
  const num = (name: Field): number => Number(str(name));
  const numOrNull = (name: Field): number | null => {
    const value = text(name);
    return value === null ? null : Number(value);
  };
  try {
    const models = text("models");
    return {
      id,
      kind: str("kind") as CredentialRecord["kind"],
      secret: box.open(str("secret")),
      fingerprint: str("fingerprint"),
      label: text("label"),
      baseURL: text("baseURL"),
      authStyle: str("authStyle") as CredentialRecord["authStyle"],
      organization: text("organization"),
      project: text("project"),
      proxy: text("proxy"),
      weight: num("weight"),
      models: models === null ? null : (JSON.parse(models) as string[]),
      missingModels: JSON.parse(str("missingModels")) as string[],
      maxInFlight: numOrNull("maxInFlight"),
      budgetUsd: numOrNull("budgetUsd"),
      rpm: numOrNull("rpm"),
      tpm: numOrNull("tpm"),
      meta: JSON.parse(box.open(str("meta"))) as Record<string, string>,
      state: str("state") as CredentialRecord["state"],
      reason: text("reason"),
      since: num("since"),
      coolUntil: num("coolUntil"),
      modelCooldowns: JSON.parse(str("modelCooldowns")) as Record<string, number>,
      ejections: num("ejections"),
      rateLimitStreak: num("rateLimitStreak"),
      spentUsd: num("spentUsd"),
      requests: num("requests"),
      failures: num("failures"),
      lastUsedAt: numOrNull("lastUsedAt"),
      createdAt: num("createdAt"),
      rev: num("rev"),
    };
  } catch (err) {
    if (StoreError.is(err)) throw err;
    throw new StoreError(`credential ${id} is malformed in redis (field "${field}")`, err);
  }
}

/** A credential from HGETALL's reply: a flat field/value list (from a script) or an object. */
export function decodeHash(hash: Record<string, string> | readonly string[], box: SecretBox): CredentialRecord | null {
  const fields: Record<string, string> = {};
  if (Array.isArray(hash)) {
    for (let i = 0; i + 1 < hash.length; i += 2) fields[hash[i]!] = hash[i + 1]!;
  } else Object.assign(fields, hash);
  return decodeRow(FIELD_NAMES.map((name) => fields[name] ?? null), box);
}
