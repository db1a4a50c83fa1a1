#!/usr/bin/env node
// coop: the Co-operative Cloud command line (docs/cli.md). Exit codes: errors.ts (EXIT).
import { buildProgram } from "./program.ts";

await buildProgram().parseAsync(process.argv);
// Exit explicitly: a worker pool or a keep-alive socket must not hold a finished command open.
process.exit(process.exitCode ?? 0);
