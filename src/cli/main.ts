#!/usr/bin/env bun
/** The `ssmd` command: one entry, a subcommand per job and per long-running role. */
import { run } from './program.ts'

process.exitCode = await run(process.argv.slice(2))
