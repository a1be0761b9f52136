/**
 * The README's shell blocks run as a newcomer would type them (see blocks.ts
 * for the markers), in a fresh copy of the checkout, against the simulator
 * the blocks start themselves. So the docs can't rot: a renamed flag, a
 * changed default or a broken example fails here.
 *
 * What differs from a newcomer's terminal, on purpose:
 * - the README's ports (8787 gateway, 8788 simulator, 3000 chat bot) are
 *   swapped for free ones, PORT set to the gateway's, so a running gateway on
 *   this machine is never hit;
 * - `npm install` becomes `npm ls` in the copy, whose node_modules is the
 *   checkout's: the install itself is CI's `npm ci`, and the copy only has
 *   to find every dependency in place;
 * - the environment is a newcomer's: no KEYPOOL_*, PORT, HOST or OPENAI_*,
 *   and no node_modules/.bin on PATH (so `node` is whatever the machine has).
 */
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ROOT, cleanEnv, run } from "../package/helpers.ts";
import { blockSeparator, sessionScript, sessions, shellBlocks, type Block } from "./blocks.ts";

const README = await readFile(join(ROOT, "README.md"), "utf8");
const BLOCKS = shellBlocks(README);
const COPY = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "README.md", "LICENSE", "CHANGELOG.md", "scripts", "src", "bin", "examples"];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === "object" && address !== null ? address.port : 0;
}

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), "keypool-readme-"));
});
after(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

test("every shell block in the README is marked: run, continued, or skipped with a reason", () => {
  assert.ok(BLOCKS.length >= 5, `${BLOCKS.length} shell blocks found`);
  const unmarked = BLOCKS.filter((b) => b.marker === null).map((b) => `line ${b.line}`);
  assert.deepEqual(unmarked, [], "shell blocks without a <!-- test ... --> marker");
  assert.ok(sessions(BLOCKS).length >= 3);
  // The generated sections belong to their scripts, not to this test.
  for (const section of ["proof", "bench"]) assert.match(README, new RegExp(`<!-- ${section}:start -->[\\s\\S]*<!-- ${section}:end -->`));
});

describe("README sessions", () => {
  sessions(BLOCKS).forEach((blocks, n) => {
    const first = blocks[0]!;
    const title = `session ${n + 1}, README line ${first.line}: ${first.code.split("\n").find((l) => l.trim() !== "" && !l.startsWith("#"))?.replace(/\s+#.*$/, "").trim() ?? ""}`;
    test(title, { timeout: 180_000 }, async () => {
      const dir = join(work, `session-${n + 1}`);
      for (const f of COPY) await cp(join(ROOT, f), join(dir, f), { recursive: true });
      await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"));
      const ports = { gateway: await freePort(), sim: await freePort(), bot: await freePort() };
      const replace = (line: string): string =>
        (line.trim() === "npm install" ? line.replace("npm install", "npm ls --depth=0 >/dev/null") : line)
          .replace(/\b8787\b/g, String(ports.gateway))
          .replace(/\b8788\b/g, String(ports.sim))
          .replace(/\b3000\b/g, String(ports.bot));
      const script = sessionScript(blocks, replace);
      const path = (process.env.PATH ?? "").split(delimiter).filter((p) => !p.includes(join("node_modules", ".bin"))).join(delimiter);
      const env = cleanEnv({ PATH: path, PORT: String(ports.gateway), __KP_PORTS: `${ports.gateway} ${ports.sim} ${ports.bot}` });
      for (const k of Object.keys(env)) if (k.startsWith("OPENAI_")) delete env[k];
      const r = await run("bash", ["-c", script], { cwd: dir, env, timeoutMs: 170_000, detached: true });
      const report = `--- script\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
      assert.equal(r.code, 0, `the session failed\n${report}`);
      for (const b of blocks) checkExpectations(b, blocks, r.stdout, report);
    });
  });
});

/** A block's output runs from its separator to the next block's. */
function checkExpectations(b: Block, blocks: readonly Block[], stdout: string, report: string): void {
  const start = stdout.indexOf(blockSeparator(b.line));
  assert.ok(start >= 0, `block at line ${b.line} ran\n${report}`);
  const next = blocks[blocks.indexOf(b) + 1];
  const end = next === undefined ? stdout.length : stdout.indexOf(blockSeparator(next.line));
  const out = stdout.slice(start, end < 0 ? stdout.length : end);
  for (const text of b.marker!.expect) assert.ok(out.includes(text), `README line ${b.line}: the output has "${text}"\n${report}`);
}
