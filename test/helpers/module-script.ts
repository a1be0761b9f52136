/** An ES module script run by a fresh node process: for what one test process can't show (what a process loads, V8's view of an object, whether it exits). */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

/** A path under src/, as a string literal for an `import()` in a script. */
export const srcImport = (file: string): string => JSON.stringify(fileURLToPath(new URL(`../../src/${file}`, import.meta.url)));

/** Runs `script` (stderr passed through); resolves with its exit code (null when killed after `timeoutMs`) and stdout. */
export async function runModuleScript(script: string, opts: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"], env: opts.env ?? process.env });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill(), opts.timeoutMs ?? 10_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, out };
}
