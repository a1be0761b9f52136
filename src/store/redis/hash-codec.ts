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
      return String(value);
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

function decodeValue(codec: Codec, text: string | undefined, box: SecretBox): unknown {
  if (text === undefined) {
    if (codec.endsWith("?")) return null;
    throw new Error("missing");
  }
  switch (codec) {
    case "str":
    case "str?":
      return text;
    case "num":
    case "num?":
      return Number(text);
    case "json":
    case "json?":
      return JSON.parse(text);
    case "secret":
      return box.open(text);
    case "secret-json":
      return JSON.parse(box.open(text));
  }
}

/** Field/value pairs for HSET (absent fields are nulls). */
export function encodeRecord(record: CredentialRecord, box: SecretBox): string[] {
  const out: string[] = [];
  for (const name of Object.keys(FIELDS) as Field[]) {
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

/** A hash as HGETALL gives it (an object, or a flat list from a script); null when empty. */
export function decodeRecord(hash: Record<string, string> | readonly string[], box: SecretBox): CredentialRecord | null {
  const fields: Record<string, string> = Array.isArray(hash) ? pairsToObject(hash) : (hash as Record<string, string>);
  if (fields.id === undefined) return null;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(FIELDS) as Field[]) {
    try {
      out[name] = decodeValue(FIELDS[name], fields[name], box);
    } catch (err) {
      if (StoreError.is(err)) throw err;
      throw new StoreError(`credential ${fields.id} is malformed in redis (field "${name}")`, err);
    }
  }
  return out as unknown as CredentialRecord;
}

function pairsToObject(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
