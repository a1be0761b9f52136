/**
 * The package build.
 *
 *   node scripts/build.ts             dist/: JavaScript and .d.ts from src/ (tsconfig.build.json),
 *                                     the dashboard's static files, an executable bin (npm start
 *                                     runs the gateway from there: see package.json's prestart)
 *   node scripts/build.ts --prepack   the build, then package.json's exports pointed at dist/
 *                                     for the tarball (npm's prepack: `npm pack`, `npm publish`)
 *   node scripts/build.ts --postpack  package.json put back as it was (npm's postpack)
 *
 * Why the exports are rewritten at pack time: a checkout resolves `keypool` to
 * ./src/index.ts (Node strips the types, nothing to build first), while Node
 * refuses to strip types under node_modules, so an installed package must
 * resolve to ./dist/index.js. Node's resolution has no condition that tells
 * the two apart without a flag on every `node` run (`--conditions`), so the
 * checkout's package.json names the sources and the packed one names dist/.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MANIFEST = join(ROOT, "package.json");
/** The checkout's package.json while a pack runs (.tmp/ is ignored by git). */
const SAVED = join(ROOT, ".tmp", "package.json.checkout");

type Exports = Record<string, string | Record<string, string>>;

/** `./src/x.ts` → `{ types: "./dist/x.d.ts", default: "./dist/x.js" }`; other targets unchanged. */
export function packedExports(exports: Exports): Exports {
  const out: Exports = {};
  for (const [key, target] of Object.entries(exports)) {
    const m = typeof target === "string" ? /^\.\/src\/(.+)\.ts$/.exec(target) : null;
    out[key] = m === null ? target : { types: `./dist/${m[1]}.d.ts`, default: `./dist/${m[1]}.js` };
  }
  return out;
}

export function build(): void {
  const dist = join(ROOT, "dist");
  // Built aside and swapped in whole: a gateway running from dist/ (npm start) that loads a module
  // lazily never finds the folder half-written, and a failed build leaves the last one in place.
  const next = join(ROOT, ".tmp", `dist-next-${process.pid}`);
  const old = join(ROOT, ".tmp", `dist-old-${process.pid}`);
  rmSync(next, { recursive: true, force: true });
  const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
  try {
    const r = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", next], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`tsc failed (exit ${r.status ?? r.signal})`);
    // Read from disk at run time next to the code that reads them (src/dashboard/assets.ts: ./public/).
    cpSync(join(ROOT, "src/dashboard/public"), join(next, "dashboard/public"), { recursive: true });
    chmodSync(join(next, "bin/keypool.js"), 0o755);
    for (const f of ["index.js", "index.d.ts", "bin/keypool.js", "dashboard/public/index.html"]) {
      if (!existsSync(join(next, f))) throw new Error(`dist/${f} is missing after the build`);
    }
  } catch (err) {
    rmSync(next, { recursive: true, force: true });
    throw err;
  }
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(next, dist);
  rmSync(old, { recursive: true, force: true });
}

function restore(): void {
  if (existsSync(SAVED)) renameSync(SAVED, MANIFEST);
}

function prepack(): void {
  restore(); // a pack that failed before its postpack left the checkout's manifest aside
  build();
  const text = readFileSync(MANIFEST, "utf8");
  const manifest = JSON.parse(text) as { exports: Exports };
  mkdirSync(dirname(SAVED), { recursive: true });
  writeFileSync(SAVED, text);
  manifest.exports = packedExports(manifest.exports);
  // Written aside then renamed: a process reading package.json meanwhile sees one whole file or the other.
  const next = join(dirname(SAVED), "package.json.packed");
  writeFileSync(next, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(next, MANIFEST);
}

if (import.meta.main) {
  const mode = process.argv[2];
  if (mode === "--prepack") prepack();
  else if (mode === "--postpack") restore();
  else if (mode === undefined) build();
  else throw new Error(`unknown option ${mode} (--prepack, --postpack or none)`);
}
