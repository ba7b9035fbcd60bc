#!/usr/bin/env node
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
// pnpm test:consumer — installs the packed packages the way a VMM author would: in a scratch
// folder outside the workspace, with npm, on a PATH with no compiler, make or python. Then
// type-checks a TypeScript consumer and runs consumer/smoke.mjs (imports every entry point,
// uses the pure packages, checks KvmError from Kvm.open on a missing device).
// Ends with "N passed, N failed"; exits 1 on any failure.
//   node tools/publish/consumer-test.mjs [--keep] [--no-build]
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { BUILD_TOOLS, barePath, which } from './lib/bare-path.mjs'
import { pack, tarballFiles } from './lib/pack.mjs'
import { isPrebuildFor } from './lib/prebuild-name.mjs'
import { readmeProgram } from './lib/readme-examples.mjs'
import { run, tail } from './lib/run.mjs'
import { Tally } from './lib/tally.mjs'
import { publishablePackages, repoRoot } from './lib/workspace.mjs'
import { loadFromScratch, stagePrebuild } from './prebuild.mjs'

const keep = process.argv.includes('--keep')
const tally = new Tally()
const packages = publishablePackages()
const work = realpathSync(mkdtempSync(join(tmpdir(), 'tsvmm-consumer-')))
const here = new URL('.', import.meta.url).pathname

function finish() {
  if (keep) console.log(`\nscratch kept in ${work}`)
  else rmSync(work, { recursive: true, force: true })
  process.exit(tally.finish())
}

if (!process.argv.includes('--no-build')) {
  const filters = packages.map((p) => `--filter=${p.name}`)
  const b = run('pnpm', ['exec', 'turbo', 'run', 'build', ...filters], { cwd: repoRoot })
  if (!tally.check('build (turbo)', b.status === 0, b.status === 0 ? [] : tail(b.output))) finish()
}

// 1. The prebuild, and the tarballs.
const kvmSys = packages.find((p) => p.name === '@tsvmm/kvm-sys')
if (!kvmSys) throw new Error('no @tsvmm/kvm-sys in packages/')
try {
  stagePrebuild(kvmSys.dir)
  const { chosen } = loadFromScratch(kvmSys.dir)
  tally.check('prebuild staged and chosen by node-gyp-build', true, [chosen])
} catch (e) {
  tally.check('prebuild staged and chosen by node-gyp-build', false, [String(e)])
  finish()
}

const tarballs = join(work, 'tarballs')
/** @type {string[]} */
const packed = []
for (const p of packages) {
  const r = pack(p.dir, tarballs)
  if (!tally.check(`pack ${p.name}`, r.ok, r.ok ? [relative(work, r.tarball)] : r.error)) finish()
  if (r.ok) packed.push(r.tarball)
  if (r.ok && p === kvmSys) {
    const prebuilds = tarballFiles(r.tarball).filter((f) => isPrebuildFor(f))
    tally.check('kvm-sys tarball holds a linux-x64 prebuild', prebuilds.length > 0, prebuilds)
  }
}

// 2. A consumer folder outside the workspace, and a PATH without build tools.
const consumer = join(work, 'consumer')
run('mkdir', ['-p', consumer])
const outside = !consumer.startsWith(`${repoRoot}/`)
tally.check('scratch folder is outside the workspace', outside, [consumer])
writeFileSync(
  join(consumer, 'package.json'),
  `${JSON.stringify({ name: 'tsvmm-consumer', private: true, type: 'module' }, null, 2)}\n`,
)
const bare = barePath(join(work, 'bin'))
const reachable = BUILD_TOOLS.filter((t) => which(t, bare.path) !== undefined)
tally.check(
  'PATH has node and npm but no compiler, make or python',
  reachable.length === 0 && bare.missing.length === 0,
  [
    `PATH=${bare.path}`,
    ...reachable.map((t) => `reachable: ${t}`),
    ...bare.missing.map((t) => `missing tool: ${t}`),
  ],
)
// Only what npm needs: nothing from the pnpm run that started us (npm_config_*, NODE_OPTIONS).
const env = {
  PATH: bare.path,
  HOME: process.env.HOME ?? '/root',
  TMPDIR: tmpdir(),
  LANG: 'C.UTF-8',
  NO_COLOR: '1',
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
}

// 3. npm install of the tarballs, with install scripts on (kvm-sys's must not compile).
const install = run('npm', ['install', '--foreground-scripts', '--no-package-lock', ...packed], {
  cwd: consumer,
  env,
})
const compiled = /node-gyp rebuild|gyp info|building it with node-gyp/.test(install.output)
tally.check(
  'npm install of the four tarballs with no compiler',
  install.status === 0 && !compiled,
  [
    ...(compiled ? ['the install tried to compile the addon'] : []),
    ...tail(install.output, install.status === 0 && !compiled ? 3 : 25),
  ],
)
if (install.status !== 0) finish()

// 4. Types: a strict TypeScript consumer resolves every entry point through node_modules.
copyFileSync(join(here, 'consumer', 'types.ts'), join(consumer, 'types.ts'))
writeFileSync(
  join(consumer, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      target: 'ES2023',
      lib: ['ES2023'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      exactOptionalPropertyTypes: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [join(repoRoot, 'node_modules', '@types')],
    },
    files: ['types.ts'],
  }),
)
const tsc = run('node', [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], {
  cwd: consumer,
  env,
})
tally.check(
  'TypeScript consumer type-checks (NodeNext, strict, skipLibCheck off)',
  tsc.status === 0,
  tail(tsc.output, 30),
)

// 5. Use the packages.
copyFileSync(join(here, 'consumer', 'smoke.mjs'), join(consumer, 'smoke.mjs'))
const smoke = run('node', ['smoke.mjs'], { cwd: consumer, env })
process.stdout.write(smoke.stdout)
if (smoke.stderr.trim()) console.log(smoke.stderr.trimEnd())
const line = /^(\d+) passed, (\d+) failed$/m.exec(smoke.stdout)
if (line) {
  tally.passed += Number(line[1])
  tally.failed += Number(line[2])
  if (Number(line[2]) > 0) tally.failures.push('smoke.mjs checks')
}
if (!line || (smoke.status !== 0 && Number(line[2]) === 0))
  tally.check('smoke.mjs ran to its summary', false, [`exit ${smoke.status}`])

// 5b. Each README's examples, run from the installed package (TypeScript blocks with their
// types erased); blocks that need /dev/kvm are left to the KVM suites.
const ts = createRequire(join(repoRoot, 'package.json'))('typescript')
const erase = (/** @type {string} */ code) =>
  ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText
for (const p of packages) {
  const readme = join(consumer, 'node_modules', p.name, 'README.md')
  const program = readmeProgram(readFileSync(readme, 'utf8'), erase)
  const file = `readme-${p.name.split('/')[1]}.mjs`
  writeFileSync(join(consumer, file), program.code)
  const r =
    program.blocks > 0 ? run('node', [file], { cwd: consumer, env, timeout: 60_000 }) : undefined
  const skipped = program.skipped.length
    ? [`left out (need /dev/kvm): README lines ${program.skipped.join(', ')}`]
    : []
  const ok = r === undefined ? program.skipped.length > 0 : r.status === 0
  tally.check(`${p.name}: README examples run (${program.blocks} without KVM)`, ok, [
    ...(r === undefined && ok ? ['every example needs /dev/kvm (the KVM suite runs them)'] : []),
    ...(r === undefined && !ok ? ['the README has no js/ts example'] : []),
    ...(r !== undefined && r.status !== 0 ? [...tail(r.output, 12), `program: ${file}`] : []),
    ...skipped,
  ])
}

// 6. Where no prebuild fits (here: the prebuilds folder removed), the install step builds
// locally: it must say what it needs when there is no compiler, the loader's error must list
// what it tried, and with a compiler the local build must load.
const installed = join(consumer, 'node_modules', '@tsvmm', 'kvm-sys')
renameSync(join(installed, 'prebuilds'), join(work, 'prebuilds-aside'))
const rebuild = (/** @type {NodeJS.ProcessEnv} */ e) =>
  run('npm', ['rebuild', '@tsvmm/kvm-sys', '--foreground-scripts'], { cwd: consumer, env: e })
const noCompiler = rebuild(env)
tally.check(
  'no prebuild, no compiler: the install step fails and says what a local build needs',
  noCompiler.status !== 0 && /python3, make and a C\/C\+\+ compiler/.test(noCompiler.output),
  tail(noCompiler.output, noCompiler.status !== 0 ? 2 : 20),
)
copyFileSync(join(here, 'consumer', 'open-missing.mjs'), join(consumer, 'open-missing.mjs'))
const noAddon = run('node', ['open-missing.mjs'], { cwd: consumer, env })
tally.check(
  "no addon at all: kvm-sys's loader error lists what it tried",
  /build\/Release/.test(noAddon.output) && /prebuilds\/linux-x64/.test(noAddon.output),
  tail(noAddon.output, 12),
)
const nodedir = join(process.execPath, '..', '..')
const full = { ...env, PATH: process.env.PATH ?? '', npm_config_nodedir: nodedir }
const withCompiler = rebuild(full)
const local = run('node', ['open-missing.mjs'], { cwd: consumer, env })
tally.check(
  'no prebuild, a compiler: the install step builds the addon locally and it loads',
  withCompiler.status === 0 && /^KvmError ENOENT$/m.test(local.stdout),
  [...tail(withCompiler.output, withCompiler.status === 0 ? 1 : 20), ...tail(local.output, 2)],
)
finish()
