#!/usr/bin/env node
// The CLI from a checkout (`npm run keypool -- ARGS`, with Node's type stripping).
// The installed package's bin is dist/bin/keypool.js, built from src/bin/keypool.ts.
import { tuneServeRuntime } from "../src/cli/serve-runtime.ts";

// Before the CLI loads: `serve` may re-execute this process in the gateway's runtime.
if (process.argv[2] === "serve") tuneServeRuntime();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
