import type { Command } from "commander";

/** Each command module registers itself on the root program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [];
