#!/usr/bin/env node
// `pnpm coverage`: line coverage of every package's src/, from the unit tests and the KVM suites
// together, with the lines no test reaches.
//   unit: each package's vitest run with v8 coverage (coverage/unit/<package>/coverage-final.json)
//   kvm:  the *.kvm.test.ts suites inside tools/kvm-host, with vitest's v8 coverage for the test
//         processes and NODE_V8_COVERAGE for everything they start (the `tsvmm` children and
//         their vCPU worker threads run dist/*.js, mapped back to src/*.ts through the source
//         maps); --collect brings coverage/kvm back.
// The runs are merged per source line (a line is reached when any run reached it), then printed
// per package and written to coverage/summary.md.
//   node tools/coverage.mjs [--no-kvm] [--kvm-filter <vitest file filter>]
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import libCoverage from 'istanbul-lib-coverage'
import v8toIstanbul from 'v8-to-istanbul'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, 'coverage')
const args = process.argv.slice(2)
const withKvm = !args.includes('--no-kvm')
const filterAt = args.indexOf('--kvm-filter')
const kvmFilter = filterAt >= 0 ? [args[filterAt + 1] ?? ''] : []

const run = (cmd, argv, cwd = root) =>
  spawnSync(cmd, argv, { cwd, stdio: 'inherit', env: process.env }).status ?? 1

/** Workspace packages with sources and unit tests. */
function packages() {
  return ['packages', 'apps', 'tools'].flatMap((top) =>
    readdirSync(join(root, top), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(root, top, d.name))
      .filter((dir) => existsSync(join(dir, 'src')) && existsSync(join(dir, 'vitest.config.ts'))),
  )
}

const V8 = ['--coverage.enabled', '--coverage.provider=v8', '--coverage.reporter=json']

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
if (run('pnpm', ['exec', 'turbo', 'run', 'build']) !== 0) process.exit(1)

let failedRuns = 0
for (const dir of packages()) {
  const name = relative(root, dir).replaceAll('/', '-')
  console.log(`\ncoverage: unit tests of ${relative(root, dir)}`)
  const status = run(
    'node',
    [
      join(root, 'node_modules/vitest/vitest.mjs'),
      'run',
      ...V8,
      '--coverage.include=src/**/*.ts',
      `--coverage.reportsDirectory=${join(out, 'unit', name)}`,
    ],
    dir,
  )
  if (status !== 0) failedRuns++
}

if (withKvm) {
  console.log('\ncoverage: the KVM suites, inside tools/kvm-host')
  // kvm-host runs the command with an empty environment (env -i): set the variable in it.
  const vitest = [
    `NODE_V8_COVERAGE=${join(out, 'kvm', 'raw')}`,
    'node',
    'node_modules/vitest/vitest.mjs',
    'run',
    '--config',
    'vitest.kvm.config.ts',
    ...V8,
    "'--coverage.include=packages/*/src/**/*.ts'",
    "'--coverage.include=apps/*/src/**/*.ts'",
    `--coverage.reportsDirectory=${join(out, 'kvm', 'vitest')}`,
    ...kvmFilter,
  ].join(' ')
  const status = run('node', [
    'tools/kvm-host/cli.mjs',
    '--collect',
    'coverage/kvm',
    '--timeout',
    '3000',
    '--',
    'sh',
    '-c',
    vitest,
  ])
  if (status !== 0) failedRuns++
}

/** file -> line -> hits, merged over every run. */
const lines = new Map()
function addLines(file, lineHits) {
  if (!file.startsWith(root) || !/\/src\/.*\.ts$/.test(file) || file.includes('node_modules'))
    return
  const m = lines.get(file) ?? new Map()
  for (const [line, hits] of Object.entries(lineHits))
    m.set(Number(line), (m.get(Number(line)) ?? 0) + hits)
  lines.set(file, m)
}
function addIstanbul(json) {
  const map = libCoverage.createCoverageMap(json)
  for (const f of map.files()) addLines(f, map.fileCoverageFor(f).getLineCoverage())
}

/** coverage-final.json files under `dir`. */
function finals(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('coverage-final.json'))
    .map((f) => join(dir, f))
}
for (const f of [...finals(join(out, 'unit')), ...finals(join(out, 'kvm', 'vitest'))])
  addIstanbul(JSON.parse(readFileSync(f, 'utf8')))

// Raw V8 coverage of the processes and threads the KVM tests started: only the workspace's own
// dist/*.js, which Node ran as files (vitest's transformed modules are in its own report).
const rawDir = join(out, 'kvm', 'raw')
let rawScripts = 0
if (existsSync(rawDir)) {
  for (const f of readdirSync(rawDir).filter((n) => n.endsWith('.json'))) {
    const raw = JSON.parse(readFileSync(join(rawDir, f), 'utf8'))
    for (const script of raw.result ?? []) {
      if (!script.url.startsWith('file://')) continue
      const path = fileURLToPath(script.url)
      if (!path.startsWith(root) || path.includes('node_modules') || !/\/dist\/.*\.js$/.test(path))
        continue
      if (!existsSync(path)) continue
      const c = v8toIstanbul(path, 0)
      await c.load()
      c.applyCoverage(script.functions)
      addIstanbul(c.toIstanbul())
      c.destroy()
      rawScripts++
    }
  }
}

/** "3-5, 9" from [3, 4, 5, 9]. */
function ranges(ns) {
  const parts = []
  for (let i = 0; i < ns.length; i++) {
    let j = i
    while (j + 1 < ns.length && ns[j + 1] === ns[j] + 1) j++
    parts.push(i === j ? `${ns[i]}` : `${ns[i]}-${ns[j]}`)
    i = j
  }
  return parts.join(', ')
}

const byPackage = new Map()
for (const [file, m] of [...lines].sort(([a], [b]) => a.localeCompare(b))) {
  const pkg = relative(root, file).split('/src/')[0]
  const entry = byPackage.get(pkg) ?? { total: 0, covered: 0, files: [] }
  const all = [...m.keys()].sort((a, b) => a - b)
  const missed = all.filter((l) => (m.get(l) ?? 0) === 0)
  entry.total += all.length
  entry.covered += all.length - missed.length
  entry.files.push({ file: relative(root, file), total: all.length, missed })
  byPackage.set(pkg, entry)
}

const pct = (c, t) => (t === 0 ? '100.0' : ((100 * c) / t).toFixed(1))
const report = [
  `# Line coverage, unit${withKvm ? ' + KVM' : ''} runs merged`,
  '',
  '| package | lines | covered | % |',
  '| --- | --- | --- | --- |',
  ...[...byPackage].map(
    ([p, e]) => `| ${p} | ${e.total} | ${e.covered} | ${pct(e.covered, e.total)} |`,
  ),
  '',
  '## Lines no test reaches',
]
for (const [p, e] of byPackage) {
  report.push('', `### ${p} (${pct(e.covered, e.total)} %)`)
  for (const f of e.files)
    if (f.missed.length > 0)
      report.push(`- ${f.file} (${pct(f.total - f.missed.length, f.total)} %): ${ranges(f.missed)}`)
}
const text = `${report.join('\n')}\n`
writeFileSync(join(out, 'summary.md'), text)
console.log(`\n${text}`)
console.log(
  `coverage: ${rawScripts} scripts from the KVM child processes; summary in coverage/summary.md`,
)
if (failedRuns > 0) {
  console.error(`coverage: ${failedRuns} test run(s) failed; the numbers cover what did run`)
  process.exit(1)
}
