#!/usr/bin/env node
// Runs a test tier and ends with the plain line "N passed, N failed[, N skipped]" that CI reads
// (vitest's own summary is per package and not in that form).
//   unit: every package's unit tests, through turbo (builds what each needs first)
//   kvm:  the *.kvm.test.ts suites, on /dev/kvm or inside tools/kvm-host
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { countResults, tierOutcome } from './test-results.mjs'

const root = new URL('..', import.meta.url).pathname
const tier = process.argv[2]
const run = (cmd, args) =>
  spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env }).status ?? 1

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
  status = run('pnpm', ['exec', 'turbo', 'run', 'test', ...process.argv.slice(3)])
} else if (tier === 'kvm') {
  reports = [join(root, 'test-results', 'kvm.json')]
  rmSync(reports[0], { force: true })
  status = run('pnpm', ['exec', 'turbo', 'run', 'build'])
  if (status === 0) {
    status = run('node', [
      'tools/kvm-host/cli.mjs',
      '--collect',
      'test-results',
      '--',
      'node',
      'node_modules/vitest/vitest.mjs',
      'run',
      '--config',
      'vitest.kvm.config.ts',
      ...process.argv.slice(3),
    ])
  }
} else {
  console.error('usage: run-tests.mjs unit|kvm [vitest or turbo args]')
  process.exit(2)
}

const counts = countResults(
  reports.filter((r) => existsSync(r)).map((r) => JSON.parse(readFileSync(r, 'utf8'))),
)
if (tier === 'kvm' && !existsSync(reports[0]))
  console.error('kvm: no test report came back from the KVM host')
if (counts.skipped > 0)
  console.error(
    `${tier}: ${counts.skipped} test(s) skipped; the project allows none, so the run fails`,
  )
const { line, exitCode } = tierOutcome({ status, ...counts })
console.log(line)
process.exit(exitCode)
