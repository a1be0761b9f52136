/** Turns what `node:sqlite` throws into a StoreError a person can act on. */
import { statSync } from "node:fs";
import { KeypoolError } from "../../errors/keypool-error.ts";
import { StoreError } from "../store-error.ts";

// Primary result codes (https://sqlite.org/rescode.html); extended codes keep them in the low byte.
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

interface SqliteFailure {
  errcode?: unknown;
  errstr?: unknown;
  message?: unknown;
}

function primaryCode(err: unknown): number | null {
  if (typeof err !== "object" || err === null) return null;
  const code = (err as SqliteFailure).errcode;
  return typeof code === "number" ? code & 0xff : null;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export interface ErrorContext {
  path: string;
  /** What the store was doing, e.g. "open", "update credential". */
  action: string;
  busyTimeoutMs: number;
}

/** The message for a sqlite failure; null when it is not one sqlite reports by code. */
function describe(err: unknown, { path, action, busyTimeoutMs }: ErrorContext): string | null {
  const where = `sqlite store ${path}`;
  switch (primaryCode(err)) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return `${where} is locked by another process: ${action} waited ${busyTimeoutMs} ms and gave up`;
    case SQLITE_READONLY:
      return `${where} is read-only: ${action} needs write access to the file and its directory (SQLite keeps ${path}-wal and ${path}-shm next to it)`;
    case SQLITE_CANTOPEN:
      if (isDirectory(path)) return `${where} cannot be opened: ${path} is a directory, not a database file`;
      return `${where} cannot be opened: check that the file and its directory exist and are writable (SQLite keeps ${path}-wal and ${path}-shm next to it)`;
    case SQLITE_NOTADB:
      return `${where} cannot be opened: ${path} is not a SQLite database (or it is encrypted by something else)`;
    case SQLITE_CORRUPT:
      return `${where} is corrupt (${action}): restore it from a backup`;
    case SQLITE_FULL:
      return `${where} cannot grow: the disk is full (${action})`;
    case SQLITE_IOERR:
      return `${where}: input/output error during ${action}`;
    default:
      return null;
  }
}

/** Whether `err` (or the error a StoreError wraps) is SQLite's "another connection holds the lock". */
export function isLockedError(err: unknown): boolean {
  const code = primaryCode(err) ?? primaryCode((err as { cause?: unknown } | null)?.cause);
  return code === SQLITE_BUSY || code === SQLITE_LOCKED;
}

/** Wraps anything thrown while using the database; keypool's own errors pass through. */
export function toStoreError(err: unknown, context: ErrorContext): KeypoolError {
  if (KeypoolError.is(err)) return err;
  const known = describe(err, context);
  if (known !== null) return new StoreError(known, err);
  const detail = err instanceof Error ? err.message : String(err);
  return new StoreError(`sqlite store ${context.path}: ${context.action} failed: ${detail}`, err);
}
