import type { Command } from 'commander'
import { registerEnv } from './env.ts'

/** Every subcommand registers itself here, one line each. */
export const COMMANDS: ((program: Command) => void)[] = [registerEnv]
