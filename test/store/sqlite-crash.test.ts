/** Every write the store acknowledged survives `kill -9` of the process that made it. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { openSqliteStore } from "../../src/store/sqlite/index.ts";
import { tempDir } from "./sqlite-temp.ts";

const WRITER = fileURLToPath(new URL("./fixtures/sqlite-writer.ts", import.meta.url));

interface Acks {
  added: string[];
  states: { id: string; eventId: string }[];
}

/** Runs the writer until it acknowledged `lines` writes, then SIGKILLs it mid-loop. */
async function writeAndKill(path: string, firstKey: number, lines: number): Promise<Acks> {
  const child = spawn(process.execPath, [WRITER, path, String(firstKey)], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  const acks: Acks = { added: [], states: [] };
  let count = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    const [what, ...rest] = line.split(" ");
    if (what === "added") acks.added.push(...rest);
    else if (what === "state") acks.states.push({ id: rest[0]!, eventId: rest[1]! });
    if (what !== "ready" && ++count === lines) {
      child.kill("SIGKILL");
      break;
    }
  }
  const signal = await exited;
  assert.equal(signal, "SIGKILL", `the writer should die by SIGKILL mid-loop, not exit on its own: ${stderr}`);
  // Lines the child printed before dying, still in the pipe, were acknowledged too; they are
  // a subset of what the store holds, so the check below does not need them.
  return acks;
}

describe("sqlite store: crash safety", () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it("keeps every acknowledged key, state and event after SIGKILL", async (t) => {
    const path = tmp.file("crash.db");
    // Three writers in turn, each killed mid-loop; each starts on the file the last one left.
    const acks: Acks = { added: [], states: [] };
    for (const [round, lines] of [150, 301, 452].entries()) {
      const got = await writeAndKill(path, round * 1_000_000, lines);
      acks.added.push(...got.added);
      acks.states.push(...got.states);
    }
    t.diagnostic(`acknowledged before the kills: ${acks.added.length} keys, ${acks.states.length} state changes`);
    assert.ok(acks.added.length > 0 && acks.states.length > 0);

    const raw = new DatabaseSync(path);
    assert.equal(raw.prepare("PRAGMA integrity_check").get()?.integrity_check, "ok");
    raw.close();

    const store = await openSqliteStore(path);
    try {
      const found = await store.credentials.getMany(acks.added);
      assert.equal(found.length, acks.added.length, "every acknowledged key is there");
      const byId = new Map(found.map((r) => [r.id, r]));
      for (const { id, eventId } of acks.states) {
        assert.equal(byId.get(id)?.state, "cooling", `acknowledged state of ${id}`);
        const events = await store.events.query({ credentialId: id, kind: "state" });
        assert.ok(events.some((e) => e.id === eventId), `acknowledged event ${eventId}`);
      }
      const added = await store.events.query({ kind: "added", limit: 1_000_000 });
      const withEvent = new Set(added.map((e) => e.credentialId));
      assert.ok(acks.added.every((id) => withEvent.has(id)), "every acknowledged key has its 'added' event");
      // The store is usable after the crash.
      const first = acks.added[0]!;
      assert.ok(await store.credentials.update(first, { state: "active" }, { from: ["cooling"] }));
    } finally {
      await store.close();
    }
  });
});
