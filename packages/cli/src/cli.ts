#!/usr/bin/env node
// The `meterkit` executable (`npx meterkit …`).
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2));
