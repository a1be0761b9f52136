/** Credential records to SQL values and back. The secret and meta pass through the SecretBox. */
import type { SQLInputValue, SQLOutputValue } from "node:sqlite";
import type { AuthStyle, CredentialKind, CredentialRecord, CredentialState } from "../../pool/types.ts";
import type { SecretBox } from "../secret-box.ts";
import { StoreError } from "../store-error.ts";
import type { CredentialPatch } from "../types.ts";

export type Row = Record<string, SQLOutputValue>;

type Encoder<K extends keyof CredentialRecord> = (value: CredentialRecord[K], box: SecretBox) => SQLInputValue;
interface Column<K extends keyof CredentialRecord> {
  name: string;
  encode: Encoder<K>;
}

const same = (v: string | number | null): SQLInputValue => v;
const json = (v: unknown): SQLInputValue => (v === null ? null : JSON.stringify(v));

/** Field → column, in the order of the INSERT statement. */
const COLUMNS: { [K in keyof CredentialRecord]: Column<K> } = {
  id: { name: "id", encode: same },
  kind: { name: "kind", encode: same },
  secret: { name: "secret", encode: (v, box) => box.seal(v) },
  fingerprint: { name: "fingerprint", encode: same },
  label: { name: "label", encode: same },
  baseURL: { name: "base_url", encode: same },
  authStyle: { name: "auth_style", encode: same },
  organization: { name: "organization", encode: same },
  project: { name: "project", encode: same },
  proxy: { name: "proxy", encode: same },
  weight: { name: "weight", encode: same },
  models: { name: "models", encode: json },
  missingModels: { name: "missing_models", encode: json },
  maxInFlight: { name: "max_in_flight", encode: same },
  budgetUsd: { name: "budget_usd", encode: same },
  rpm: { name: "rpm", encode: same },
  tpm: { name: "tpm", encode: same },
  meta: { name: "meta", encode: (v, box) => box.seal(JSON.stringify(v)) },
  state: { name: "state", encode: same },
  reason: { name: "reason", encode: same },
  since: { name: "since", encode: same },
  coolUntil: { name: "cool_until", encode: same },
  modelCooldowns: { name: "model_cooldowns", encode: json },
  ejections: { name: "ejections", encode: same },
  rateLimitStreak: { name: "rate_limit_streak", encode: same },
  spentUsd: { name: "spent_usd", encode: same },
  requests: { name: "requests", encode: same },
  failures: { name: "failures", encode: same },
  lastUsedAt: { name: "last_used_at", encode: same },
  createdAt: { name: "created_at", encode: same },
  rev: { name: "rev", encode: same },
};

const FIELDS = Object.keys(COLUMNS) as (keyof CredentialRecord)[];
/** Set once when a record is created; a patch never changes them. */
const FIXED = new Set<string>(["id", "fingerprint", "createdAt", "rev"]);

function encode<K extends keyof CredentialRecord>(field: K, value: CredentialRecord[K], box: SecretBox): SQLInputValue {
  return (COLUMNS[field] as Column<K>).encode(value, box);
}

/** Takes the credential's number, then `recordValues`; a number already in use is left as it is. */
export const INSERT_CREDENTIAL_SQL =
  `INSERT INTO credentials (num, ${FIELDS.map((f) => COLUMNS[f].name).join(", ")}) ` +
  `VALUES (?, ${FIELDS.map(() => "?").join(", ")}) ON CONFLICT (num) DO NOTHING`;

/** Every field's value, in INSERT_CREDENTIAL_SQL's order. */
export function recordValues(record: CredentialRecord, box: SecretBox): SQLInputValue[] {
  return FIELDS.map((f) => encode(f, record[f], box));
}

/** The `SET` columns and values of a patch; fields that can't change are ignored. */
export function patchAssignments(patch: CredentialPatch, box: SecretBox): { columns: string[]; values: SQLInputValue[] } {
  const columns: string[] = [];
  const values: SQLInputValue[] = [];
  for (const field of Object.keys(patch).sort()) {
    if (FIXED.has(field) || !Object.hasOwn(COLUMNS, field)) continue;
    const value = (patch as Record<string, unknown>)[field];
    if (value === undefined) continue;
    const key = field as keyof CredentialRecord;
    columns.push(COLUMNS[key].name);
    values.push(encode(key, value as CredentialRecord[typeof key], box));
  }
  return { columns, values };
}

function corrupt(column: string, value: SQLOutputValue): never {
  throw new StoreError(`credentials.${column} holds an unexpected value (${typeof value})`);
}

function text(row: Row, column: string): string {
  const v = row[column];
  return typeof v === "string" ? v : corrupt(column, v ?? null);
}
function textOrNull(row: Row, column: string): string | null {
  const v = row[column];
  return v === null || v === undefined ? null : typeof v === "string" ? v : corrupt(column, v);
}
function num(row: Row, column: string): number {
  const v = row[column];
  return typeof v === "number" ? v : corrupt(column, v ?? null);
}
function numOrNull(row: Row, column: string): number | null {
  const v = row[column];
  return v === null || v === undefined ? null : typeof v === "number" ? v : corrupt(column, v);
}
function parsed<T>(source: string): T {
  return JSON.parse(source) as T;
}

/** A `credentials` row (the `num` column aside) as a record, opening the sealed fields. */
export function rowToRecord(row: Row, box: SecretBox): CredentialRecord {
  const models = textOrNull(row, "models");
  return {
    id: text(row, "id"),
    kind: text(row, "kind") as CredentialKind,
    secret: box.open(text(row, "secret")),
    fingerprint: text(row, "fingerprint"),
    label: textOrNull(row, "label"),
    baseURL: textOrNull(row, "base_url"),
    authStyle: text(row, "auth_style") as AuthStyle,
    organization: textOrNull(row, "organization"),
    project: textOrNull(row, "project"),
    proxy: textOrNull(row, "proxy"),
    weight: num(row, "weight"),
    models: models === null ? null : parsed<string[]>(models),
    missingModels: parsed<string[]>(text(row, "missing_models")),
    maxInFlight: numOrNull(row, "max_in_flight"),
    budgetUsd: numOrNull(row, "budget_usd"),
    rpm: numOrNull(row, "rpm"),
    tpm: numOrNull(row, "tpm"),
    meta: parsed<Record<string, string>>(box.open(text(row, "meta"))),
    state: text(row, "state") as CredentialState,
    reason: textOrNull(row, "reason"),
    since: num(row, "since"),
    coolUntil: num(row, "cool_until"),
    modelCooldowns: parsed<Record<string, number>>(text(row, "model_cooldowns")),
    ejections: num(row, "ejections"),
    rateLimitStreak: num(row, "rate_limit_streak"),
    spentUsd: num(row, "spent_usd"),
    requests: num(row, "requests"),
    failures: num(row, "failures"),
    lastUsedAt: numOrNull(row, "last_used_at"),
    createdAt: num(row, "created_at"),
    rev: num(row, "rev"),
  };
}
