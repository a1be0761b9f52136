import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { LineBatch } from "../../src/util/line-batch.ts";

function target(): { writes: string[]; flushes: number; write(s: string): void; flush(cb?: () => void): void } {
  return {
    writes: [],
    flushes: 0,
    write(s) {
      this.writes.push(s);
    },
    flush(cb) {
      this.flushes++;
      cb?.();
    },
  };
}

describe("LineBatch", () => {
  it("hands lines on in one write per batch, in order, once a batch holds minLength", () => {
    const t = target();
    const b = new LineBatch(t, { minLength: 1000, flushEveryMs: 0 });
    const lines = Array.from({ length: 50 }, (_, i) => `{"i":${i},"pad":"${"x".repeat(80)}"}\n`);
    for (const l of lines) b.write(l);
    assert.ok(t.writes.length >= 3 && t.writes.length <= 5, `${t.writes.length} writes`);
    for (const w of t.writes) assert.ok(w.length >= 1000, "no write below the batch size");
    b.flush();
    assert.equal(t.writes.join(""), lines.join(""), "every line once, in order");
    assert.equal(t.flushes, 1);
    b.close();
  });

  it("hands on what waits when its timer fires", async () => {
    const t = target();
    const b = new LineBatch(t, { minLength: 1 << 20, flushEveryMs: 20 });
    b.write("a\n");
    b.write("b\n");
    assert.deepEqual(t.writes, []);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(t.writes, ["a\nb\n"]);
    b.close();
  });

  it("close hands on the rest and stops the timer", async () => {
    const t = target();
    const b = new LineBatch(t, { minLength: 1 << 20, flushEveryMs: 10 });
    b.write("last\n");
    b.close();
    assert.deepEqual(t.writes, ["last\n"]);
    b.write("after\n");
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(t.writes, ["last\n"], "no timer after close");
  });
});

describe("createLogger's stdout batching", () => {
  const LOGGER = new URL("../../src/util/logger.ts", import.meta.url).href;
  const run = (tail: string): string[] => {
    const script = `import { createLogger } from ${JSON.stringify(LOGGER)}; const log = createLogger(); for (let i = 0; i < 300; i++) log.info({ i }, "line"); ${tail}`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
    assert.equal(r.status === null ? r.signal : r.status, tail.includes("SIGKILL") ? "SIGKILL" : 0, r.stderr);
    return r.stdout.split("\n").filter((l) => l !== "");
  };
  const indexes = (lines: string[]): number[] => lines.map((l) => (JSON.parse(l) as { i?: number }).i ?? -1);

  it("writes every line when the process ends by itself", () => {
    assert.deepEqual(indexes(run("")), Array.from({ length: 300 }, (_, i) => i));
  });

  it("writes every line when the process calls process.exit", () => {
    assert.deepEqual(indexes(run("process.exit(0);")), Array.from({ length: 300 }, (_, i) => i));
  });

  it("writes a line left waiting within a second, before a SIGKILL", () => {
    const lines = run(`setTimeout(() => { log.info("late"); setTimeout(() => process.kill(process.pid, "SIGKILL"), 1500); }, 10);`);
    assert.equal(lines.length, 301);
    assert.match(lines.at(-1)!, /"msg":"late"/);
  });
});
