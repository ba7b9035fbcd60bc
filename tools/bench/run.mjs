#!/usr/bin/env node
// pnpm bench: builds, runs every workspace benchmark one after the other (they compete for the
// same cores otherwise), then prints ONE table of every row they wrote to bench-results/
// (tools/bench/rows.mjs): benchmark, now, baseline, ratio, target, met.
//   pnpm bench                 the benchmarks that can run on this machine
//   pnpm bench --emulated      also those that need KVM, inside tools/kvm-host when there is
//                              no /dev/kvm (slow: QEMU TCG; their ratios are not the targets')
//   pnpm bench --json [file]   also writes the table's rows as JSON (default bench-report.json)
//   pnpm bench --only <pkg>    one package's benchmark (its name without @tsvmm/)
// A benchmark that fails or writes no row gets a "not measured" row saying so. Exits non-zero
// only when a benchmark fails, never for a missed target.
import { spawnSync } from 'node:child_process'
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join, resolve } from 'node:path'
import { formatTable, notMeasured, readRows, repoRoot, resultsDir, writeRows } from './rows.mjs'

const args = process.argv.slice(2)
const emulated = args.includes('--emulated')
const jsonAt = args.indexOf('--json')
const jsonFile =
  jsonAt < 0
    ? undefined
    : resolve(
        repoRoot,
        args[jsonAt + 1] && !args[jsonAt + 1].startsWith('--')
          ? args[jsonAt + 1]
          : join(repoRoot, 'bench-report.json'),
      )
const onlyAt = args.indexOf('--only')
const only = onlyAt < 0 ? undefined : args[onlyAt + 1]

/**
 * Benchmarks that need /dev/kvm and do not decide for themselves what to do without it: without
 * --emulated they are not run, and their row says why. (apps/vmm's exits bench writes its own
 * "not measured" row.)
 */
const NEEDS_KVM = {
  '@tsvmm/kvm-sys': {
    benchmark: 'kvm-sys port-I/O exits through vcpu.run(), local /dev/kvm',
    unit: 'exits/s',
  },
}

function kvmOpens() {
  try {
    closeSync(openSync('/dev/kvm', 'r+'))
    return true
  } catch {
    return false
  }
}

/** Workspace packages with a `bench` script, in a fixed order. */
function benches() {
  const found = []
  for (const top of ['packages', 'apps']) {
    const dir = join(repoRoot, top)
    if (!existsSync(dir)) continue
    for (const name of readdirSync(dir).sort()) {
      const manifest = join(dir, name, 'package.json')
      if (!existsSync(manifest)) continue
      const pkg = JSON.parse(readFileSync(manifest, 'utf8'))
      if (pkg.scripts?.bench) found.push({ pkg: pkg.name, dir: join(dir, name) })
    }
  }
  return found.filter((b) => only === undefined || b.pkg === `@tsvmm/${only}`)
}

const run = (cmd, argv, cwd, env = {}) =>
  spawnSync(cmd, argv, { cwd, stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1

rmSync(resultsDir, { recursive: true, force: true })
const list = benches()
if (
  run(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', ...list.map((b) => `--filter=${b.pkg}...`)],
    repoRoot,
  ) !== 0
) {
  process.exit(1)
}

const haveKvm = kvmOpens()
let failed = false
for (const { pkg, dir } of list) {
  const short = pkg.replace('@tsvmm/', '')
  const kvmRow = NEEDS_KVM[pkg]
  if (kvmRow && !haveKvm && !emulated) {
    writeRows(short, [
      notMeasured(
        kvmRow.benchmark,
        'no /dev/kvm on this machine (--emulated runs it in tools/kvm-host)',
        {
          unit: kvmRow.unit,
        },
      ),
    ])
    continue
  }
  const before = new Set(existsSync(resultsDir) ? readdirSync(resultsDir) : [])
  console.log(`\n== ${pkg}: pnpm bench`)
  const status = run('pnpm', ['run', 'bench'], dir, emulated ? { TSVMM_BENCH_EMULATED: '1' } : {})
  const wrote = existsSync(resultsDir) && readdirSync(resultsDir).some((f) => !before.has(f))
  if (status !== 0) {
    failed = true
    writeRows(`${short}-failed`, [
      notMeasured(`${pkg} bench`, `the benchmark failed (exit ${status})`),
    ])
  } else if (!wrote) {
    writeRows(short, [
      notMeasured(`${pkg} bench`, 'it wrote no row to bench-results/ (see its output above)'),
    ])
  }
}

const rows = readRows()
console.log(`\n${formatTable(rows)}`)
if (jsonFile) {
  const cpu = cpuName()
  writeFileSync(
    jsonFile,
    `${JSON.stringify({ cpu, date: new Date().toISOString(), rows: rows.map(({ file, ...r }) => r) }, null, 2)}\n`,
  )
  console.log(`\nwrote ${jsonFile}`)
}
process.exit(failed ? 1 : 0)

/** The CPU model the numbers were measured on (lscpu's "Model name"). */
function cpuName() {
  const r = spawnSync('lscpu', [], { encoding: 'utf8' })
  const m = /^Model name:\s*(.+)$/m.exec(r.stdout ?? '')
  return m ? m[1].trim() : 'unknown'
}
