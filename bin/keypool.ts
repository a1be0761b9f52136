#!/usr/bin/env node
// The CLI from a checkout (`npm run keypool -- ARGS`, with Node's type stripping).
// The installed package's bin is dist/bin/keypool.js, built from src/bin/keypool.ts.
import { main } from "../src/cli/main.ts";

process.exitCode = await main(process.argv);
