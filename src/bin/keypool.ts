#!/usr/bin/env node
/** The `keypool` command. Built to dist/bin/keypool.js, the installed package's bin; bin/keypool.ts runs it from a checkout. */
import { tuneServeRuntime } from "../cli/serve-runtime.ts";

// Before the CLI loads: `serve` may re-execute this process in the gateway's runtime.
if (process.argv[2] === "serve") tuneServeRuntime();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv);
