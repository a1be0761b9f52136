import type { Command } from "commander";
import { registerChat } from "./chat.ts";
import { registerSim } from "./sim.ts";
import { registerServe } from "./serve.ts";
import { registerKeys } from "./keys.ts";
import { registerTokens } from "./tokens.ts";

/** Each command module registers itself on the root program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerSim, registerChat, registerServe, registerKeys, registerTokens];
