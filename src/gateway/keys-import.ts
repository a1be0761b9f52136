/**
 * Bulk key import with a result per line: added, duplicate, or malformed
 * (with the reason). Valid lines are never lost to a bad one. Used by the
 * admin API and by `keypool keys add` on a local store.
 */
import { parseCredentialInput, parseCredentialLines } from "../pool/credential-input.ts";
import { credentialId } from "../pool/credential-record.ts";
import type { Pool } from "../pool/pool.ts";
import type { CredentialInput } from "../pool/types.ts";
import { maskSecret } from "../util/mask.ts";

export interface ImportEntry {
  line: number;
  input?: CredentialInput;
  error?: string;
}

export interface LineResult {
  line: number;
  status: "added" | "duplicate" | "malformed";
  id?: string;
  key?: string;
  message?: string;
}

export interface ImportReport {
  added: number;
  duplicates: number;
  malformed: number;
  results: LineResult[];
}

/** Import text, one credential per line (`KEY`, `KEY LABEL...`, a JSON object; `#` comments). */
export function entriesFromText(text: string, firstLine = 1): ImportEntry[] {
  const out: ImportEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    const parsed = parseCredentialLines(line);
    const input = parsed.inputs[0];
    if (input !== undefined) out.push({ line: firstLine + i, input });
    else out.push({ line: firstLine + i, error: parsed.errors[0]?.message ?? "not a credential" });
  }
  return out;
}

/** Items of a JSON array (keys or credential objects); item N is line N. */
export function entriesFromItems(items: readonly unknown[]): ImportEntry[] {
  return items.map((value, i) => {
    try {
      return { line: i + 1, input: parseCredentialInput(value as string | CredentialInput) };
    } catch (err) {
      return { line: i + 1, error: (err as Error).message };
    }
  });
}

/** Adds a batch of credentials; resolves with the ids that were new. */
export type Adder = (inputs: CredentialInput[]) => Promise<ReadonlySet<string>>;

/** Adds straight into a pool (its store). */
export function poolAdder(pool: Pool): Adder {
  return async (inputs) => new Set((await pool.add(inputs)).added.map((v) => v.id));
}

/** Adds the valid entries in batches; `onProgress` after each batch. */
export async function importEntries(add: Adder, entries: readonly ImportEntry[], onProgress?: (done: number, total: number) => void, batchSize = 1000): Promise<ImportReport> {
  const report: ImportReport = { added: 0, duplicates: 0, malformed: 0, results: [] };
  const firstLineOf = new Map<string, number>();
  const valid: { line: number; input: CredentialInput }[] = [];
  const byLine = new Map<number, LineResult>();
  for (const e of entries) {
    if (e.input === undefined) {
      byLine.set(e.line, { line: e.line, status: "malformed", message: e.error ?? "not a credential" });
      continue;
    }
    const seen = firstLineOf.get(e.input.secret);
    if (seen !== undefined) {
      byLine.set(e.line, { line: e.line, status: "duplicate", id: credentialId(e.input.secret), key: maskSecret(e.input.secret), message: `same key as line ${seen}` });
      continue;
    }
    firstLineOf.set(e.input.secret, e.line);
    valid.push({ line: e.line, input: e.input });
  }
  let done = entries.length - valid.length;
  onProgress?.(done, entries.length);
  for (let i = 0; i < valid.length; i += batchSize) {
    const batch = valid.slice(i, i + batchSize);
    const addedIds = await add(batch.map((b) => b.input));
    for (const b of batch) {
      const id = credentialId(b.input.secret);
      const status = addedIds.has(id) ? "added" : "duplicate";
      byLine.set(b.line, { line: b.line, status, id, key: maskSecret(b.input.secret), ...(status === "duplicate" ? { message: "already in the pool" } : {}) });
    }
    done += batch.length;
    onProgress?.(done, entries.length);
  }
  for (const e of entries) {
    const r = byLine.get(e.line)!;
    report.results.push(r);
    if (r.status === "added") report.added++;
    else if (r.status === "duplicate") report.duplicates++;
    else report.malformed++;
  }
  return report;
}
