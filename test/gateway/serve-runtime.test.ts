import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { missingFlags, SERVE_NODE_FLAGS, serveReexec } from "../../src/cli/serve-runtime.ts";
import { startServe } from "./child.ts";

describe("the gateway's runtime: what to re-execute with", () => {
  const argv = ["/usr/bin/node", "/app/bin/keypool.ts", "serve", "--port", "0"];

  it("adds every flag and MALLOC_ARENA_MAX to a plain start, keeping the command line", () => {
    const plan = serveReexec(argv, [], { PATH: "/bin" }, "/usr/bin/node");
    assert.ok(plan !== null);
    assert.equal(plan.file, "/usr/bin/node");
    assert.deepEqual(plan.args, ["/usr/bin/node", ...SERVE_NODE_FLAGS, "/app/bin/keypool.ts", "serve", "--port", "0"]);
    assert.equal(plan.env.MALLOC_ARENA_MAX, "1");
    assert.equal(plan.env.PATH, "/bin");
    assert.equal(plan.env.KEYPOOL_NODE_TUNED, "1");
  });

  it("never re-executes twice, nor when turned off", () => {
    assert.equal(serveReexec(argv, [], { KEYPOOL_NODE_TUNED: "1" }, "/usr/bin/node"), null);
    assert.equal(serveReexec(argv, [], { KEYPOOL_NODE_TUNING: "off" }, "/usr/bin/node"), null);
  });

  it("leaves alone what the process was given: its flags (either spelling, either polarity), NODE_OPTIONS, its malloc setting", () => {
    assert.deepEqual(missingFlags(SERVE_NODE_FLAGS, ["--max_old_space_size=4096", "--allocation-site-pretenuring"], "--max-semi-space-size=32 --maglev"), []);
    const plan = serveReexec(argv, ["--inspect"], { MALLOC_ARENA_MAX: "4", NODE_OPTIONS: "--max-old-space-size=2048" }, "/usr/bin/node");
    assert.ok(plan !== null);
    assert.deepEqual(plan.args.slice(0, 4), ["/usr/bin/node", "--inspect", "--no-allocation-site-pretenuring", "--max-semi-space-size=16"]);
    assert.ok(!plan.args.some((a) => a.startsWith("--max-old-space-size")), "NODE_OPTIONS already sets it");
    assert.equal(plan.env.MALLOC_ARENA_MAX, "4");
    assert.equal(serveReexec(argv, [...SERVE_NODE_FLAGS], { MALLOC_ARENA_MAX: "1" }, "/usr/bin/node"), null, "nothing missing");
  });
});

describe("keypool serve in its runtime", { skip: process.platform !== "linux" && "reads /proc" }, () => {
  const runtimeOf = (pid: number): { args: string[]; env: string[] } => ({
    args: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"),
    env: readFileSync(`/proc/${pid}/environ`, "utf8").split("\0"),
  });

  it("re-executes itself in place (same process) with the gateway's flags and malloc setting", async () => {
    const gw = await startServe(["--store", "memory"], {});
    try {
      const { args, env } = runtimeOf(gw.child.pid!);
      for (const f of SERVE_NODE_FLAGS) assert.ok(args.includes(f), `${f} in ${args.join(" ")}`);
      assert.ok(env.includes("MALLOC_ARENA_MAX=1"));
      assert.equal((await fetch(`${gw.url}/healthz`)).status, 200, "the re-executed process is the one serving");
    } finally {
      assert.equal(await gw.stop(), 0);
    }
  });

  it("KEYPOOL_NODE_TUNING=off runs as started", async () => {
    const gw = await startServe(["--store", "memory"], { KEYPOOL_NODE_TUNING: "off" });
    try {
      const { args, env } = runtimeOf(gw.child.pid!);
      assert.ok(!args.some((a) => SERVE_NODE_FLAGS.includes(a as (typeof SERVE_NODE_FLAGS)[number])), args.join(" "));
      assert.ok(!env.includes("MALLOC_ARENA_MAX=1"));
    } finally {
      await gw.stop();
    }
  });
});
