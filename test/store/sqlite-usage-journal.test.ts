/**
 * The SQLite store's usage journal (src/store/sqlite/usage-journal.ts): usage is acknowledged
 * once it is in this process's journal, reaches the shared tables within a fold, survives the
 * process's SIGKILL (the next process to open the store folds it), and a live process's
 * journal is never taken from it.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { openSqliteStore } from "../../src/store/sqlite/index.ts";
import { FOLD_MS, foldOrphans, ProcessJournal, type FoldInto } from "../../src/store/sqlite/usage-journal.ts";
import type { UsageRecord } from "../../src/pool/types.ts";
import { sleep } from "../helpers/records.ts";
import { tempDir } from "./sqlite-temp.ts";
import { holdWriteLock } from "./write-lock.ts";

const WRITER = fileURLToPath(new URL("./fixtures/usage-writer.ts", import.meta.url));

const use = (id: string, tokenId: string | null = null): UsageRecord => ({ id, time: Date.now(), credentialId: "key_1", tokenId, model: "gpt-4o-mini", promptTokens: 3, completionTokens: 4, costUsd: 0.001, estimated: false });

/** Record ids the store keeps for deduplication (folds of a journal's log need none). */
function seenIds(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare("SELECT count(*) AS n FROM usage_seen").get()?.n);
  } finally {
    db.close();
  }
}

/** Requests counted in the shared tables, read by a connection of its own (what another process sees). */
function tableRequests(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare("SELECT coalesce(sum(requests), 0) AS n FROM usage_hourly").get()?.n);
  } finally {
    db.close();
  }
}

/** Sets this process's file size limit (RLIMIT_FSIZE, soft): a write past it is cut short, as on a full disk (Node ignores SIGXFSZ). */
function limitFileSize(bytes: number | "unlimited"): void {
  const r = spawnSync("prlimit", ["--pid", String(process.pid), `--fsize=${bytes}:unlimited`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`prlimit (util-linux) failed: ${r.error?.message ?? r.stderr}`);
}

const journals = (dir: string): string[] => readdirSync(dir).filter((n) => n.includes("-usage-") && n.endsWith(".journal"));

/** Starts the writer; resolves once it acknowledged its records and stopped its event loop. */
async function stalledWriter(path: string, n: number, mode?: "folded"): Promise<{ kill(): Promise<void> }> {
  const child = spawn(process.execPath, [WRITER, path, String(n), ...(mode === undefined ? [] : [mode])], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  for await (const line of createInterface({ input: child.stdout })) if (line === `acked ${n}`) break;
  assert.equal(child.exitCode, null, `the writer is alive: ${stderr}`);
  return {
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

describe("sqlite store: the usage journal", () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it("acknowledges usage from the journal and folds it into the shared tables within a fold interval", async () => {
    const path = tmp.file("fold.db");
    const store = await openSqliteStore(path);
    try {
      await store.usage.record([use("u1")]);
      assert.equal(tableRequests(path), 0, "acknowledged before the shared tables have it");
      assert.equal(journals(tmp.dir).filter((n) => n.startsWith("fold.db-")).length, 1, "in a journal beside the store");
      await sleep(FOLD_MS * 4);
      assert.equal(tableRequests(path), 1, "folded by the timer");
      // Reads in the same process fold first: exact at once.
      await store.usage.record([use("u2"), use("u3")]);
      assert.equal((await store.usage.query({}))[0]?.requests, 3);
    } finally {
      await store.close();
    }
    assert.equal(tableRequests(path), 3);
    assert.deepEqual(journals(tmp.dir).filter((n) => n.startsWith("fold.db-")), [], "an empty journal is removed at close");
  });

  it("charges client tokens through the journal, exactly when this process reads them", async () => {
    const path = tmp.file("tokens.db");
    const store = await openSqliteStore(path);
    try {
      await store.tokens.create({ id: "tok_j", name: "j", hash: "hash-j", hint: "…j", models: null, quotaTokens: null, usedTokens: 0, rpm: null, expiresAt: null, createdAt: 1, revokedAt: null, lastUsedAt: null });
      await store.usage.record([use("t1", "tok_j"), use("t2", "tok_j")]);
      assert.equal((await store.tokens.get("tok_j"))?.usedTokens, 14);
      assert.equal((await store.tokens.findByHash("hash-j"))?.usedTokens, 14);
    } finally {
      await store.close();
    }
  });

  it("counts an id given twice in one batch once", async () => {
    const path = tmp.file("dupes.db");
    const store = await openSqliteStore(path);
    try {
      await store.usage.record([use("d1"), use("d1"), use("d2")]);
      await store.usage.record([use("d2")]);
      assert.equal((await store.usage.query({}))[0]?.requests, 2);
    } finally {
      await store.close();
    }
  });

  it("while another process holds the store's lock, tries its fold once a second, not every 25 ms (each try holds the event loop up to 100 ms)", async () => {
    const path = tmp.file("busy.db");
    const store = await openSqliteStore(path);
    try {
      await store.usage.record([use("b0")]);
      await sleep(FOLD_MS * 4); // the journal exists and is folded: the next record starts a fold timer
      const lock = holdWriteLock(path);
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      try {
        await store.usage.record([use("b1")]);
        await sleep(1200);
      } finally {
        clearInterval(ticker);
        lock.release();
      }
      // Retrying every 25 ms, ~100 ms of every ~125 ms would be spent waiting: ~25 ticks; with the back-off ~100.
      assert.ok(ticks >= 50, `${ticks} ticks of 10 ms in 1.2 s: the event loop ran meanwhile`);
      await sleep(1200);
      assert.equal(tableRequests(path), 2, "folded after the lock went away");
    } finally {
      await store.close();
    }
  });

  it("keeps what a process killed before its fold acknowledged: the next process to open the store folds it", async () => {
    const path = tmp.file("killed.db");
    await (await openSqliteStore(path)).close(); // the schema, before the writer starts
    const writer = await stalledWriter(path, 40);
    await writer.kill();
    assert.equal(tableRequests(path), 0, "killed before any fold");
    assert.equal(journals(tmp.dir).filter((n) => n.startsWith("killed.db-")).length, 1, "its journal is left behind");
    const store = await openSqliteStore(path);
    try {
      assert.equal((await store.usage.query({}))[0]?.requests, 40, "every acknowledged record counted, once");
      assert.deepEqual(journals(tmp.dir).filter((n) => n.startsWith("killed.db-")), [], "the orphan's files are gone");
    } finally {
      await store.close();
    }
    const again = await openSqliteStore(path);
    assert.equal((await again.usage.query({}))[0]?.requests, 40, "nothing folded twice");
    await again.close();
  });

  it("counts nothing twice when a process killed after a fold left the folded lines in its log", async () => {
    const path = tmp.file("refold.db");
    await (await openSqliteStore(path)).close();
    const writer = await stalledWriter(path, 30, "folded");
    await writer.kill();
    assert.equal(tableRequests(path), 30, "folded before the kill");
    const [name] = journals(tmp.dir).filter((n) => n.startsWith("refold.db-"));
    assert.equal(readFileSync(join(tmp.dir, `${name}.log`), "utf8").split("\n").length, 32, "the log still holds its header and the 30 folded lines");
    const store = await openSqliteStore(path);
    try {
      assert.equal((await store.usage.query({}))[0]?.requests, 30, "folded again, counted once");
      assert.equal(seenIds(path), 0, "by the fold's recorded position, not by remembering 30 ids");
      assert.deepEqual(journals(tmp.dir).filter((n) => n.startsWith("refold.db-")), []);
    } finally {
      await store.close();
    }
  });

  it("folds only the lines it has not folded yet, and empties the log once a megabyte of it is folded", async () => {
    const path = tmp.file("grow.db");
    const store = await openSqliteStore(path);
    try {
      let sizes: number[] = [];
      for (let batch = 0; batch < 14; batch++) {
        await store.usage.record(Array.from({ length: 500 }, (_, i) => use(`g${batch}_${i}`)));
        assert.equal((await store.usage.query({}))[0]?.requests, (batch + 1) * 500, "exact after every fold");
        const [name] = journals(tmp.dir).filter((n) => n.startsWith("grow.db-"));
        sizes.push(statSync(join(tmp.dir, `${name}.log`)).size);
      }
      sizes = sizes.map((b) => Math.round(b / 1024));
      assert.ok(sizes.some((kb, i) => i > 0 && kb < sizes[i - 1]!), `emptied along the way (KB after each batch: ${sizes.join(", ")})`);
      assert.ok(Math.max(...sizes) < 1024 + 200, `never much past a megabyte (KB: ${sizes.join(", ")})`);
      assert.equal(seenIds(path), 0, "7,000 records folded without keeping an id each");
    } finally {
      await store.close();
    }
  });

  it("counts a batch whose append was cut short (a full disk) once when its caller gives it again, not the lines that made it in as well", async () => {
    const path = tmp.file("torn.db");
    const store = await openSqliteStore(path);
    try {
      await store.usage.record([use("t1")]);
      const [name] = journals(tmp.dir).filter((n) => n.startsWith("torn.db-"));
      const log = join(tmp.dir, `${name}.log`);
      const batch = [use("t2"), use("t3"), use("t4")];
      // The disk is full a few bytes into t3's line: t2's line is whole in the log, t3's cut.
      limitFileSize(statSync(log).size + JSON.stringify(batch[0]).length + 1 + 20);
      try {
        await assert.rejects(store.usage.record(batch), /bytes written/);
      } finally {
        limitFileSize("unlimited");
      }
      const lines = readFileSync(log, "utf8").split("\n");
      assert.ok(lines.includes(JSON.stringify(batch[0])), "t2's line made it into the log whole");
      await store.usage.record(batch); // the caller's retry
      await store.usage.record([use("t5")]);
      assert.equal((await store.usage.query({}))[0]?.requests, 5, "t1 to t5, each once");
      // Had the process died before its fold, its log would be an orphan's: folded from the log itself.
      const other = tmp.file("torn-orphan.db");
      await (await openSqliteStore(other)).close();
      const orphan = join(tmp.dir, "torn-orphan.db-usage-999997-0c0ffee0.journal");
      new DatabaseSync(orphan).close();
      writeFileSync(`${orphan}.log`, readFileSync(log));
      const again = await openSqliteStore(other);
      try {
        assert.equal((await again.usage.query({}))[0]?.requests, 5, "from the log too: the cut append's whole line of t2 is skipped, as the line after it says");
      } finally {
        await again.close();
      }
    } finally {
      await store.close();
    }
    assert.equal(tableRequests(path), 5);
  });

  it("starts a new generation of its log clean after a cut append: no line end to close, no cut line naming the last one's bytes", async () => {
    const path = tmp.file("torn-gen.db");
    const store = await openSqliteStore(path);
    try {
      for (let i = 0; i < 8000; i += 500) await store.usage.record(Array.from({ length: 500 }, (_, j) => use(`m${i + j}`)));
      const [name] = journals(tmp.dir).filter((n) => n.startsWith("torn-gen.db-"));
      const log = join(tmp.dir, `${name}.log`);
      assert.ok(statSync(log).size > 1024 * 1024, "past a megabyte: the next fold empties the log");
      limitFileSize(statSync(log).size + 40);
      try {
        await assert.rejects(store.usage.record([use("x1"), use("x2")]), /bytes written/);
      } finally {
        limitFileSize("unlimited");
      }
      assert.equal((await store.usage.query({}))[0]?.requests, 8000, "folded, the cut append not counted");
      await store.usage.record([use("x1"), use("x2")]);
      const lines = readFileSync(log, "utf8").split("\n");
      assert.equal(lines.length, 4, `the header, x1, x2 and the last line end: ${lines.map((l) => l.slice(0, 30)).join(" | ")}`);
      assert.deepEqual([lines[0], (JSON.parse(lines[1]!) as UsageRecord).id, (JSON.parse(lines[2]!) as UsageRecord).id, lines[3]], ['{"gen":1}', "x1", "x2", ""]);
      assert.equal((await store.usage.query({}))[0]?.requests, 8002);
    } finally {
      await store.close();
    }
  });

  it("resumes an orphan's fold where a refused one stopped (its recorded position), counting each record once", async () => {
    const path = tmp.file("resume.db");
    await (await openSqliteStore(path)).close();
    const writer = await stalledWriter(path, 1200);
    await writer.kill();
    const marks = new Map<string, { gen: number; offset: number }>();
    const counted: string[] = [];
    let busyFrom = 2; // the store takes the first batch of 500, then is busy
    let calls = 0;
    const into: FoldInto = (records, mark) => {
      if (++calls >= busyFrom) throw new Error("busy");
      counted.push(...records.map((r) => r.id));
      if (mark !== undefined) marks.set(mark.journal, { gen: mark.gen, offset: mark.offset });
    };
    const progress = (name: string): { gen: number; offset: number } | null => marks.get(name) ?? null;
    foldOrphans(path, into, progress);
    assert.equal(counted.length, 500, "one batch taken before the store was busy");
    assert.equal(journals(tmp.dir).filter((n) => n.startsWith("resume.db-")).length, 1, "the journal stays");
    busyFrom = Infinity;
    assert.equal(foldOrphans(path, into, progress), 700, "the next fold starts where the first one's position says");
    assert.equal(new Set(counted).size, 1200);
    assert.equal(counted.length, 1200);
  });

  it("never takes its own live journal for an orphan (the store's housekeeping looks for orphans)", async () => {
    const path = tmp.file("own.db");
    const store = await openSqliteStore(path);
    try {
      await store.usage.record([use("o1")]);
      const mine = journals(tmp.dir).filter((n) => n.startsWith("own.db-"));
      assert.equal(mine.length, 1);
      const folded: UsageRecord[] = [];
      assert.equal(foldOrphans(path, (r) => folded.push(...r)), 0);
      assert.deepEqual(folded, []);
      assert.deepEqual(journals(tmp.dir).filter((n) => n.startsWith("own.db-")), mine, "still there");
      await store.usage.record([use("o2")]);
      assert.equal((await store.usage.query({}))[0]?.requests, 2);
    } finally {
      await store.close();
    }
  });

  it("writes a record as one line of its log, and folds an orphan's torn line away without losing the lines around it", async () => {
    const path = tmp.file("lines.db");
    const store = await openSqliteStore(path);
    try {
      await store.usage.record([use("l1"), use("l2")]);
      const [name] = journals(tmp.dir).filter((n) => n.startsWith("lines.db-"));
      const lines = readFileSync(join(tmp.dir, `${name}.log`), "utf8").split("\n");
      assert.equal(lines[0], '{"gen":0}', "the log's generation first (fold marks name it)");
      assert.deepEqual(lines.slice(1).map((l) => (l === "" ? "" : (JSON.parse(l) as UsageRecord).id)), ["l1", "l2", ""]);
    } finally {
      await store.close();
    }
    // An orphan as a power cut would leave it: a line cut short, then whole lines (an append after a short write starts a new line).
    const orphan = join(tmp.dir, "lines.db-usage-999999-0badf00d.journal");
    new DatabaseSync(orphan).close();
    writeFileSync(`${orphan}.log`, `${JSON.stringify(use("l3"))}\n${JSON.stringify(use("l4")).slice(0, 40)}\n${JSON.stringify(use("l5"))}\n`);
    const again = await openSqliteStore(path);
    try {
      assert.equal((await again.usage.query({}))[0]?.requests, 4, "l1, l2, l3 and l5");
      assert.deepEqual(journals(tmp.dir).filter((n) => n.startsWith("lines.db-")), []);
    } finally {
      await again.close();
    }
  });

  it("folds the rows of a journal an earlier version left in its SQLite table", async () => {
    const path = tmp.file("legacy.db");
    await (await openSqliteStore(path)).close();
    const orphan = join(tmp.dir, "legacy.db-usage-999998-0ddba11.journal");
    const db = new DatabaseSync(orphan);
    db.exec("CREATE TABLE usage_journal (record TEXT NOT NULL)");
    for (const id of ["o1", "o2", "o3"]) db.prepare("INSERT INTO usage_journal (record) VALUES (?)").run(JSON.stringify(use(id)));
    db.close();
    const store = await openSqliteStore(path);
    try {
      assert.equal((await store.usage.query({}))[0]?.requests, 3);
      assert.deepEqual(journals(tmp.dir).filter((n) => n.startsWith("legacy.db-")), []);
    } finally {
      await store.close();
    }
  });

  it("never takes a live process's journal", async () => {
    const path = tmp.file("live.db");
    await (await openSqliteStore(path)).close();
    const writer = await stalledWriter(path, 25);
    try {
      const store = await openSqliteStore(path);
      assert.deepEqual(await store.usage.query({}), [], "the live writer's records stay in its journal");
      assert.equal(journals(tmp.dir).filter((n) => n.startsWith("live.db-")).length, 1);
      await store.close();
    } finally {
      await writer.kill();
    }
    const store = await openSqliteStore(path);
    assert.equal((await store.usage.query({}))[0]?.requests, 25, "folded once its process is gone");
    await store.close();
  });
});

describe("ProcessJournal folding its own records", () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it("folds them from their sums, kept as they were appended, without reading its log back: one write per fold, marked at the log's end", () => {
    const path = tmp.file("sums.db");
    const byRecord: string[][] = [];
    const bySums: { records: number; rollups: number; tokens: [string, number][]; requests: number; mark: { gen: number; offset: number } }[] = [];
    const journal = new ProcessJournal(
      path,
      (records) => byRecord.push(records.map((r) => r.id)),
      () => null,
      (sums, mark) => {
        bySums.push({
          records: sums.records,
          rollups: sums.rollups.size,
          tokens: [...sums.tokens].map(([id, t]) => [id, t.tokens]),
          requests: [...sums.rollups.values()].reduce((n, r) => n + r.requests, 0),
          mark: { gen: mark.gen, offset: mark.offset },
        });
      },
    );
    try {
      journal.append([use("s1", "tok_a"), use("s2", "tok_a")]);
      journal.append([use("s3"), use("s1", "tok_a")]); // s1 again: counted once
      journal.foldForRead();
      const [name] = journals(tmp.dir).filter((n) => n.startsWith("sums.db-"));
      const logBytes = statSync(join(tmp.dir, `${name}.log`)).size;
      assert.deepEqual(byRecord, [], "no record read back from the log");
      assert.deepEqual(bySums, [{ records: 3, rollups: 2, tokens: [["tok_a", 14]], requests: 3, mark: { gen: 0, offset: logBytes } }]);
      journal.foldForRead();
      assert.equal(bySums.length, 1, "nothing new: no write");
      journal.append([use("s4")]);
      journal.foldForRead();
      assert.deepEqual(bySums.at(-1), { records: 1, rollups: 1, tokens: [], requests: 1, mark: { gen: 0, offset: statSync(join(tmp.dir, `${name}.log`)).size } });
    } finally {
      journal.close();
    }
  });
});

describe("ProcessJournal without a place for its file", () => {
  it("hands records straight to the tables' writer when no journal can be created", () => {
    const written: UsageRecord[][] = [];
    const journal = new ProcessJournal(join(tmpdir(), "keypool-no-such-dir", "x", "store.db"), (records) => written.push([...records]));
    journal.append([use("n1")]);
    journal.append([use("n2"), use("n3")]);
    assert.deepEqual(written.map((b) => b.map((r) => r.id)), [["n1"], ["n2", "n3"]]);
    journal.close();
  });
});
