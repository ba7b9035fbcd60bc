#!/usr/bin/env node
// Checks that the built `tsvmm` CLI (apps/vmm/dist/main.js) follows the usual conventions:
// --help/-h on the program and every command, --version, documented exit codes, errors and
// exit 2 on stderr for bad input, --json that parses, and no colour when output is not a TTY
// or NO_COLOR is set. Ends with "N passed, N failed".
//   node tools/publish/cli-check.mjs
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { run } from './lib/run.mjs'
import { Tally } from './lib/tally.mjs'
import { repoRoot } from './lib/workspace.mjs'

const main = join(repoRoot, 'apps', 'vmm', 'dist', 'main.js')
const tally = new Tally()
if (!existsSync(main)) {
  tally.check('apps/vmm is built', false, [
    `${main} is missing: pnpm exec turbo run build --filter=@tsvmm/vmm`,
  ])
  process.exit(tally.finish())
}
const version = JSON.parse(
  readFileSync(join(repoRoot, 'apps', 'vmm', 'package.json'), 'utf8'),
).version
// biome-ignore lint/suspicious/noControlCharactersInRegex: looks for ANSI escapes
const ansi = /\x1b\[/
const tsvmm = (/** @type {string[]} */ args, /** @type {Record<string, string>} */ extra = {}) =>
  run('node', [main, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...extra },
    timeout: 120_000,
  })

const help = tsvmm(['--help'])
tally.check(
  'tsvmm --help: exit 0, usage on stdout, nothing on stderr',
  help.status === 0 && /usage:/i.test(help.stdout) && help.stderr === '',
  [`exit ${help.status}`],
)
tally.check('tsvmm -h is --help', tsvmm(['-h']).stdout === help.stdout)
tally.check('--help documents the exit codes', /exit codes?/i.test(help.stdout))
const v = tsvmm(['--version'])
tally.check(`tsvmm --version prints ${version}`, v.status === 0 && v.stdout.includes(version), [
  v.stdout.trim(),
])

const commands = [...help.stdout.matchAll(/^ {2}([a-z][\w-]*)\b(?! *-)/gm)].map((m) => m[1] ?? '')
tally.check('--help lists commands', commands.length > 0, [commands.join(', ')])
for (const c of commands) {
  const r = tsvmm([c, '--help'])
  tally.check(
    `tsvmm ${c} --help: exit 0, usage on stdout`,
    r.status === 0 && /usage:/i.test(r.stdout) && r.stderr === '',
    [`exit ${r.status}`, ...r.stderr.trim().split('\n').filter(Boolean)],
  )
}

const bad = tsvmm(['no-such-command'])
tally.check(
  'unknown command: exit 2, message on stderr, nothing on stdout',
  bad.status === 2 && bad.stderr !== '' && bad.stdout === '',
  [`exit ${bad.status}`],
)
for (const c of commands.filter((c) => c !== 'help')) {
  const r = tsvmm([c, '--no-such-flag'])
  tally.check(
    `tsvmm ${c} --no-such-flag: exit 2 on stderr`,
    r.status === 2 && r.stderr !== '' && r.stdout === '',
    [`exit ${r.status}`],
  )
}

if (commands.includes('caps')) {
  const caps = tsvmm(['caps', '--json'])
  let parsed = false
  try {
    JSON.parse(caps.stdout)
    parsed = true
  } catch {}
  tally.check(
    'tsvmm caps --json prints JSON (or exits 4 with the error on stderr)',
    parsed || (caps.status === 4 && caps.stderr !== ''),
    [`exit ${caps.status}`],
  )
  const plain = tsvmm(['caps'], { NO_COLOR: '1', FORCE_COLOR: '1' })
  const piped = tsvmm(['caps'])
  tally.check(
    'no colour when stdout is not a TTY, or with NO_COLOR',
    !ansi.test(piped.output) && !ansi.test(plain.output),
  )
}
process.exit(tally.finish())
