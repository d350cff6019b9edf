#!/usr/bin/env bun
/** The `ssmd` command: one entry, a subcommand per job and per long-running role. */
import { run } from './program.ts'
import { watchStdout } from './stdout.ts'

watchStdout()

process.exitCode = await run(process.argv.slice(2))
// A command that returned has nothing left to do: if a handle it forgot (a server, a timer, a
// socket) keeps the process alive, it still ends, with its code, instead of hanging (a role that
// failed would otherwise look alive to its supervisor). Unref'd: a clean exit is not delayed.
setTimeout(() => {
  process.stderr.write(`ssmd: still running 5 s after the command returned (a handle left open); exiting with ${process.exitCode ?? 0}\n`)
  process.exit()
}, 5000).unref()
