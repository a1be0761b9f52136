import { Command, CommanderError } from "commander";
import { KeypoolError } from "../errors/index.ts";
import { commands } from "./commands/index.ts";
import { version } from "../version.ts";

export function buildProgram(): Command {
  const program = new Command("keypool")
    .description("Use many LLM credentials as one: pool, gateway, chat and simulator.")
    .version(version, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting so tests can call it. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (KeypoolError.is(err)) {
      process.stderr.write(`keypool: ${err.message} [${err.code}]\n`);
      return 1;
    }
    process.stderr.write(`keypool: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}
