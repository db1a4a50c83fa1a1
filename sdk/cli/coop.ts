#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1
// coop: the Co-operative Cloud command line (docs/cli.md). Exit codes: errors.ts (EXIT).
// A young generation of 1 MiB semi-spaces: put and get stream gigabytes through short-lived
// chunks, and V8's default (up to 16 MiB semi-spaces) let ~50 MB of them wait between
// collections (a 1 GiB coop put peaked at 348 MB RSS with it, 294 MB without; get 366 -> 305).
import { buildProgram } from "./program.ts";

await buildProgram().parseAsync(process.argv);
// Exit explicitly: a worker pool or a keep-alive socket must not hold a finished command open.
process.exit(process.exitCode ?? 0);
