#!/usr/bin/env node
// Runs a test tier and ends with the plain line "N passed, N failed[, N skipped]" that CI reads
// (vitest's own summary is per package and not in that form).
//   unit: every package's unit tests, through turbo (builds what each needs first)
//   kvm:  the *.kvm.test.ts suites, on /dev/kvm or inside tools/kvm-host
//   soak: the *.soak.test.ts suites (long runs on real KVM, issue 12's fuzz soak), the same way;
//         apart from `kvm` so that the README's test command stays inside CI's budget, and CI runs
//         them as their own step
// Each step shows one line (each package built, each package's test count, the KVM host's steps,
// each KVM suite); the tools' full output goes to a log file, named when something fails.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { openLog, runLogged, turboTaskLine } from './progress.mjs'
import { countResults, tierOutcome } from './test-results.mjs'

const root = new URL('..', import.meta.url).pathname
const tier = process.argv[2]
const log = openLog(`test-${tier}`)
const seen = new Set()
/** Lines of each turbo task, to show a failing task's own error lines. */
const taskLines = new Map()
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes start with ESC
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, '')
const show = (line) => {
  const l = stripAnsi(line)
  const task = /^(@?[\w./-]+:[\w:-]+): (.*)$/.exec(l)
  if (task) {
    const lines = taskLines.get(task[1]) ?? []
    lines.push(task[2])
    taskLines.set(task[1], lines)
    const p = turboTaskLine(l, seen)
    if (p && !/:test$/.test(task[1])) console.log(`  ${p}`)
    const count = /^\s*Tests\s+(.*)$/.exec(task[2])
    if (count && /:test$/.test(task[1]))
      console.log(`  test ${task[1].replace(/:test$/, '')}: ${count[1]}`)
    if (/^\s*(FAIL|×|ERR_|Error:)/.test(task[2])) console.log(`    ${task[1]}: ${task[2].trim()}`)
    return
  }
  // kvm-host's own steps, and vitest's per-file lines of the KVM suites.
  if (l.startsWith('kvm-host: ')) console.log(`  ${l.slice(10)}`)
  else if (/^\s*(✓|×|❯|FAIL|Test Files|Tests)\s/.test(l)) console.log(`  ${l.trim()}`)
}
const run = (cmd, args) => runLogged(cmd, args, { log, cwd: root, onLine: show })
const TURBO = ['exec', 'turbo', 'run', '--log-order=grouped', '--output-logs=full']

function workspaceDirs() {
  return ['packages', 'apps', 'tools'].flatMap((top) =>
    existsSync(join(root, top))
      ? readdirSync(join(root, top), { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => join(root, top, d.name))
      : [],
  )
}

let status
let reports
if (tier === 'unit') {
  reports = workspaceDirs().map((d) => join(d, 'test-results', 'unit.json'))
  for (const r of reports) rmSync(r, { force: true })
  console.log('test: building every package, then the unit tests of each (turbo)')
  // --continue: one package's failure must not hide the other packages' results.
  status = await run('pnpm', [...TURBO, 'test', '--continue', ...process.argv.slice(3)])
} else if (tier === 'kvm' || tier === 'soak') {
  reports = [join(root, 'test-results', `${tier}.json`)]
  rmSync(reports[0], { force: true })
  console.log(`test:${tier}: building every package (turbo)`)
  status = await run('pnpm', [...TURBO, 'build'])
  if (status === 0) {
    console.log(`test:${tier}: the *.${tier}.test.ts suites on real KVM`)
    status = await run('node', [
      'tools/kvm-host/cli.mjs',
      '--collect',
      'test-results',
      '--',
      'node',
      'node_modules/vitest/vitest.mjs',
      'run',
      '--config',
      `vitest.${tier}.config.ts`,
      ...process.argv.slice(3),
    ])
  }
} else {
  console.error('usage: run-tests.mjs unit|kvm|soak [vitest or turbo args]')
  process.exit(2)
}

const parsed = reports.filter((r) => existsSync(r)).map((r) => JSON.parse(readFileSync(r, 'utf8')))
const counts = countResults(parsed)
// Each failed test's own message, here and not only in the log: CI keeps only what is printed.
for (const file of parsed.flatMap((p) => p.testResults ?? []))
  for (const t of file.assertionResults ?? [])
    if (t.status === 'failed') {
      console.log(`  failed: ${t.fullName}`)
      const msg = stripAnsi((t.failureMessages ?? []).join('\n')).split('\n')
      for (const l of msg.filter((x) => !/^\s+at /.test(x)).slice(0, 30)) console.log(`    ${l}`)
    }
if (tier !== 'unit' && !existsSync(reports[0]))
  console.error(`${tier}: no test report came back from the KVM host`)
if (counts.skipped > 0)
  console.error(
    `${tier}: ${counts.skipped} test(s) skipped; the project allows none, so the run fails`,
  )
const { line, exitCode } = tierOutcome({ status, ...counts })
if (exitCode !== 0) console.error(`test: the full log is ${log.path}`)
console.log(line)
process.exit(exitCode)
