/** Temporary SQLite files for the sqlite store's tests, removed afterwards. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDir {
  dir: string;
  /** A database path inside the directory. */
  file(name?: string): string;
  remove(): void;
}

export function tempDir(prefix = "keypool-sqlite-"): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file: (name = "keypool.db") => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
