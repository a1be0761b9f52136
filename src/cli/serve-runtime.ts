/**
 * The Node runtime `keypool serve` runs in. The gateway measured (README,
 * bench/gateway.bench.ts) with these settings, and every way of starting it
 * (npm start, npx keypool serve, a service manager) gets them, because
 * `keypool serve` re-executes itself with them (`process.execve`: the same
 * process, pid and stdio) when any is missing:
 *
 * - `--no-allocation-site-pretenuring`: V8 learned to allocate some of each
 *   request's short-lived objects (undici's header buffers among them)
 *   straight into the old generation, where they died: ~10 KB a request went
 *   there under load, a full collection every ~0.6 s. Without: ~0.3 KB, and
 *   about a fifth less CPU per request.
 * - `--max-semi-space-size=16`: a young generation large enough that a
 *   request's objects are nearly always dead by the next scavenge. With 4 MB
 *   semi-spaces a scavenge came every ~7 ms under load, and whatever the 64
 *   requests in flight held then was copied, and promoted at the next one
 *   (~5 KB a request, a full collection every ~0.5 s). Against 4 MB, in
 *   alternating rounds at 64 connections: JSON 25.6 → 28.8 % of direct with
 *   8 MB, 27.5 → 30.8 % with 16 MB; RSS +5 and +15 MB, affordable since the
 *   gateway runs from dist/ (npm start), not from stripped sources (~20 MB).
 *   Measured again once little was promoted any more (dispatch's WholeAnswer):
 *   streamed 34.5 % of direct with 16 MB against 29.3 % with 8 and 28.9 % with
 *   4 (ahead in 5 of 5 rounds), JSON 31.6 against 31.3 % with 4; RSS 130 MB
 *   against 113 and 104 (bench/alternating.ts).
 * - `--max-old-space-size=512`: with a limit of 1 GB or more (the default here
 *   is a quarter of the RAM) V8 lets the old generation grow to 4× its live size
 *   between full collections; below, by less. ~50 MB less at peak, same
 *   throughput, and far above the gateway's live heap (README).
 * - `--no-maglev`: no mid-tier optimizing compiler (functions go from the
 *   baseline tier to TurboFan). It mostly speeds up warm-up, which a
 *   long-running gateway doesn't need; without it, 4–10 MB less at peak and
 *   the same CPU per request (side-by-side runs, within ±7 % either way).
 * - `MALLOC_ARENA_MAX=1`: glibc gives each thread that allocates (V8's GC
 *   helpers, libuv's pool) an arena of its own; under load they held ~30 MB.
 *
 * Flags the process already has (its command line or NODE_OPTIONS) win, and
 * `KEYPOOL_NODE_TUNING=off` starts the gateway in the runtime as it was
 * started. Where execve is missing (Windows), the one flag V8 takes at run
 * time is set there.
 */
import { setFlagsFromString } from "node:v8";

export const SERVE_NODE_FLAGS = ["--no-allocation-site-pretenuring", "--max-semi-space-size=16", "--max-old-space-size=512", "--no-maglev"] as const;
export const SERVE_ENV = { MALLOC_ARENA_MAX: "1" } as const;
/** Set by the re-execution: never a second one. */
const MARK = "KEYPOOL_NODE_TUNED";

/** What a flag sets, whatever its value and polarity: `--no-maglev`, `--maglev` → `--maglev`; `--max_old_space_size=512` → `--max-old-space-size` (V8 reads `_` and `-` alike). */
const flagKey = (flag: string): string => flag.split("=")[0]!.replaceAll("_", "-").replace(/^--no-/, "--");

/** The flags of `wanted` the process doesn't set itself. */
export function missingFlags(wanted: readonly string[], execArgv: readonly string[], nodeOptions: string): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].filter((a) => a.startsWith("--")).map(flagKey));
  return wanted.filter((f) => !given.has(flagKey(f)));
}

export interface Reexec {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** What to execute instead of this process, or null when it already runs as the gateway should. */
export function serveReexec(argv: readonly string[], execArgv: readonly string[], env: NodeJS.ProcessEnv, execPath: string): Reexec | null {
  if (env[MARK] !== undefined || env.KEYPOOL_NODE_TUNING === "off") return null;
  const flags = missingFlags(SERVE_NODE_FLAGS, execArgv, env.NODE_OPTIONS ?? "");
  const envMissing = Object.entries(SERVE_ENV).filter(([k]) => env[k] === undefined || env[k] === "");
  if (flags.length === 0 && envMissing.length === 0) return null;
  return { file: execPath, args: [execPath, ...execArgv, ...flags, ...argv.slice(1)], env: { ...env, ...Object.fromEntries(envMissing), [MARK]: "1" } };
}

/** Called first thing by the `keypool` bin when the command is `serve`; returns only if no re-execution happened. */
export function tuneServeRuntime(): void {
  const plan = serveReexec(process.argv, process.execArgv, process.env, process.execPath);
  if (plan === null) return;
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  if (typeof execve === "function" && process.platform !== "win32") {
    try {
      execve.call(process, plan.file, plan.args, plan.env);
    } catch {
      // Not possible here (a sandbox refusing execve): carry on as started.
    }
  }
  if (plan.args.includes(SERVE_NODE_FLAGS[0])) setFlagsFromString(SERVE_NODE_FLAGS[0]);
}
