#!/usr/bin/env node
/** The `keypool` command. Built to dist/bin/keypool.js, the installed package's bin; bin/keypool.ts runs it from a checkout. */
import { main } from "../cli/main.ts";

process.exitCode = await main(process.argv);
