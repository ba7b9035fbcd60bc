#!/usr/bin/env node
// Prints the README's set-up command number N (1: the demo, 2: the tests), for .ci/run to eval.
import { fileURLToPath } from 'node:url'
import { repoReadmeCommands } from './lib/readme.mjs'

const n = Number(process.argv[2])
const commands = repoReadmeCommands(fileURLToPath(new URL('../..', import.meta.url)))
const cmd = commands[n - 1]
if (!cmd) {
  console.error(`usage: readme-command.mjs 1..${commands.length}`)
  process.exit(2)
}
console.log(cmd)
