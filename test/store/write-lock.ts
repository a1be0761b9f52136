/** Holds a SQLite file's write lock from another connection, as another process would. */
import { DatabaseSync } from "node:sqlite";

/** Another connection holding the file's write lock until `release()` (which may be called twice). */
export function holdWriteLock(path: string): { release(): void } {
  const other = new DatabaseSync(path);
  other.exec("BEGIN IMMEDIATE");
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      other.exec("ROLLBACK");
      other.close();
    },
  };
}
