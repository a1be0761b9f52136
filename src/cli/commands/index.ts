import type { Command } from "commander";
import { registerChat } from "./chat.ts";
import { registerSim } from "./sim.ts";

/** Each command module registers itself on the root program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerSim, registerChat];
