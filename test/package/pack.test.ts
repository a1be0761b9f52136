/**
 * The package as a user gets it: `npm pack` (its prepack builds dist/ and
 * points the exports there), the tarball installed into a fresh project, the
 * library imported by plain Node from an .mjs file, the bin's --help, one
 * pooled call and one chat turn against the simulator, the gateway with its
 * dashboard. Under this Node 24 and under Node 22 (the `node@22` package from
 * the registry, kept in node_modules/.cache after the first run).
 *
 * The pack runs in a staged copy of the checkout, so the checkout's
 * package.json is never rewritten while other tests read it.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { ROOT, cleanEnv, run, runOk, stageCheckout, start } from "./helpers.ts";

const GOOD = "sk-good-000000000000000000001";
const REVOKED = "sk-revoked-000000000000000002";
const NODE22_DIR = join(ROOT, "node_modules", ".cache", "keypool-test-node22");

const CONSUMER = `
import { createPool, ChatClient } from "keypool";
import { readFileSync } from "node:fs";

const pool = await createPool({ upstream: process.env.KEYPOOL_UPSTREAM, keys: process.env.KEYPOOL_KEYS.split(","), health: false });
const answers = [];
for (let i = 0; i < 4; i++) {
  const res = await pool.fetch("https://api.openai.com/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello " + i }] }),
  });
  answers.push(res.status);
  await res.arrayBuffer();
}
const chat = new ChatClient({ pool, model: "gpt-4o-mini" });
const reply = await chat.session("alice").send("What is a key pool?");
const states = pool.list().map((k) => k.state).sort();
const version = JSON.parse(readFileSync(new URL(import.meta.resolve("keypool/package.json")), "utf8")).version;
console.log(JSON.stringify({ answers, chat: reply.text.length > 0, states, version, node: process.version, stripTypes: process.features.typescript ?? false }));
await pool.close();
`;

/** Compiled with tsc against the installed package's declarations, library checks on. */
const TYPED = `
import { createPool, ChatClient, type PoolOptions, type ChatReply } from "keypool";
const options: PoolOptions = { store: "memory", keys: ["sk-a"], strategy: "round-robin", health: false };
const pool = await createPool(options);
const res: Response = await pool.fetch("https://api.openai.com/v1/models");
const chat = new ChatClient({ pool, model: "gpt-4o-mini" });
const reply: ChatReply = await chat.session("alice").send("hi", { onProgress: (p) => void p.delta });
// @ts-expect-error: not a strategy
await createPool({ strategy: "fastest" });
export const n: number = reply.text.length + res.status;
`;

let sim: Simulator;
let work: string;
let app: string;
let tarball: string;
let manifest: { version: string; exports: Record<string, unknown>; bin: Record<string, string> };

async function stagedPack(dir: string): Promise<string> {
  const stage = join(dir, "stage");
  await stageCheckout(stage, ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "README.md", "LICENSE", "CHANGELOG.md", "scripts", "src"]);
  // npm runs prepack with node_modules/.bin first on PATH: Node 24 from the devDependency.
  const r = await runOk("npm", ["pack", "--pack-destination", dir, "--json"], { cwd: stage, env: cleanEnv() });
  const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  assert.equal(await readFile(join(stage, "package.json"), "utf8"), await readFile(join(ROOT, "package.json"), "utf8"), "postpack put package.json back");
  const files = info!.files.map((f) => f.path);
  for (const f of ["dist/index.js", "dist/index.d.ts", "dist/bin/keypool.js", "dist/dashboard/public/index.html", "dist/sim/index.js", "LICENSE", "CHANGELOG.md", "README.md"]) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  assert.deepEqual(files.filter((f) => f.startsWith("src/") || f.startsWith("test/") || (f.endsWith(".ts") && !f.endsWith(".d.ts"))), [], "no sources or tests packed");
  return join(dir, info!.filename);
}

/** Node 22 from the registry's `node@22` package, installed once into node_modules/.cache. */
async function node22(): Promise<string> {
  const bin = join(NODE22_DIR, "node_modules", ".bin", "node");
  const have = await run(bin, ["--version"]).catch(() => null);
  if (have?.code === 0 && have.stdout.startsWith("v22.")) return bin;
  await rm(NODE22_DIR, { recursive: true, force: true });
  await mkdir(NODE22_DIR, { recursive: true });
  await writeFile(join(NODE22_DIR, "package.json"), JSON.stringify({ private: true, allowScripts: { node: true } }));
  await runOk("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--no-package-lock", "node@22"], { cwd: NODE22_DIR, env: cleanEnv(), timeoutMs: 300_000 });
  return bin;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), "keypool-pack-"));
  sim = await startSimulator({ keys: { [GOOD]: "ok", [REVOKED]: "invalid" } });
  tarball = await stagedPack(work);
  const dir = join(work, "unpacked");
  await mkdir(dir);
  await runOk("tar", ["xzf", tarball, "-C", dir]);
  manifest = JSON.parse(await readFile(join(dir, "package", "package.json"), "utf8")) as typeof manifest;
  app = join(work, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  // Offline first: every dependency is in npm's cache since the checkout's own install.
  await runOk("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: app, env: cleanEnv() });
  await writeFile(join(app, "consumer.mjs"), CONSUMER);
});

after(async () => {
  await sim?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

test("the packed manifest resolves to dist/ with types; the checkout's to the sources", async () => {
  assert.deepEqual(manifest.exports["."], { types: "./dist/index.d.ts", default: "./dist/index.js" });
  assert.equal(manifest.bin.keypool, "./dist/bin/keypool.js");
  const checkout = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as typeof manifest;
  assert.equal(checkout.exports["."], "./src/index.ts");
  assert.equal(manifest.version, checkout.version);
  assert.match(manifest.version, /^\d+\.\d+\.\d+(?:-[\w.]+)?$/, "a semantic version");
  const changelog = await readFile(join(ROOT, "CHANGELOG.md"), "utf8");
  assert.match(changelog, new RegExp(`^## \\[${manifest.version.replaceAll(".", "\\.")}\\]`, "m"), "the CHANGELOG has the version");
  const installed = await readdir(join(app, "node_modules", "keypool"));
  assert.deepEqual(installed.sort(), ["CHANGELOG.md", "LICENSE", "README.md", "dist", "package.json"]);
});

test("a strict TypeScript consumer type-checks against the packed .d.ts", async () => {
  const dir = join(work, "typed");
  await mkdir(dir);
  await symlink(join(app, "node_modules"), join(dir, "node_modules"));
  await writeFile(join(dir, "package.json"), JSON.stringify({ private: true, type: "module" }));
  await writeFile(join(dir, "typed.ts"), TYPED);
  const compilerOptions = { target: "es2024", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, skipLibCheck: false, types: ["node"], typeRoots: [join(ROOT, "node_modules", "@types")] };
  await writeFile(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["typed.ts"] }));
  await runOk(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", dir], { cwd: dir });
});

for (const which of ["24", "22"] as const) {
  describe(`installed, on Node ${which}`, () => {
    let node: string;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      node = which === "24" ? process.execPath : await node22();
      // The bin's `#!/usr/bin/env node` finds this Node first.
      env = cleanEnv({ PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ""}`, KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: `${REVOKED},${GOOD}` });
    });

    test("import { createPool, ChatClient } from \"keypool\" in plain .mjs: pooled calls and a chat turn", async () => {
      const r = await runOk(node, ["--no-experimental-strip-types", "consumer.mjs"], { cwd: app, env });
      const out = JSON.parse(r.stdout) as { answers: number[]; chat: boolean; states: string[]; version: string; node: string; stripTypes: boolean };
      assert.ok(out.node.startsWith(`v${which}.`), out.node);
      assert.equal(out.stripTypes, false);
      assert.deepEqual(out.answers, [200, 200, 200, 200], "every call answered: the revoked key failed over");
      assert.equal(out.chat, true);
      assert.deepEqual(out.states, ["active", "retired"]);
      assert.equal(out.version, manifest.version);
    });

    test("the bin: --help, --version, keys on a SQLite store", async () => {
      const keypool = join(app, "node_modules", ".bin", "keypool");
      const help = await runOk(keypool, ["--help"], { cwd: app, env });
      for (const cmd of ["serve", "keys", "tokens", "chat", "sim"]) assert.match(help.stdout, new RegExp(`^  ${cmd}\\b`, "m"));
      assert.equal((await runOk(keypool, ["--version"], { cwd: app, env })).stdout.trim(), manifest.version);
      const store = `sqlite:${join(work, `node${which}.db`)}`;
      await runOk(keypool, ["keys", "add", GOOD, "--store", store], { cwd: app, env });
      const list = JSON.parse((await runOk(keypool, ["keys", "list", "--json", "--store", store], { cwd: app, env })).stdout) as Array<{ state: string; masked?: string }>;
      assert.equal(list.length, 1);
      assert.equal(list[0]!.state, "active");
    });

    test("the bin's gateway serves /v1 and the dashboard's files", async () => {
      const keypool = join(app, "node_modules", ".bin", "keypool");
      const gw = await start(keypool, ["serve", "--port", "0", "--store", "memory", "--log-level", "warn"], /listening on (http:\/\/\S+)/, { cwd: app, env });
      try {
        const url = gw.match[1]!;
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] }),
        });
        assert.equal(res.status, 200);
        const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
        assert.ok(body.choices[0]!.message.content.length > 0);
        const page = await fetch(`${url}/dashboard/`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /<html/i);
      } finally {
        await gw.stop();
      }
    });
  });
}
