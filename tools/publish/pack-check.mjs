#!/usr/bin/env node
// pnpm check:packages — builds the publishable packages, packs each as npm would publish it, and
// checks every tarball: publint, @arethetypeswrong/cli (esm-only), what it holds and lacks, and
// what its package.json says. Ends with "N passed, N failed"; exits 1 on any failure.
//   node tools/publish/pack-check.mjs [--keep] [--no-build]
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAttw, runPublint } from './lib/lint.mjs'
import { pack, tarballFiles, tarballManifest } from './lib/pack.mjs'
import { run, tail } from './lib/run.mjs'
import {
  brokenReadmeLinks,
  danglingMapSources,
  isNative,
  manifestProblems,
  missingFiles,
  unwantedFiles,
} from './lib/ship-rules.mjs'
import { Tally } from './lib/tally.mjs'
import { publishablePackages, repoRoot } from './lib/workspace.mjs'

const keep = process.argv.includes('--keep')
const packages = publishablePackages()
const tally = new Tally()
const work = mkdtempSync(join(tmpdir(), 'tsvmm-pack-check-'))

// The rules below (and prebuild naming) have their own tests: run them first.
const selfTest = run('node', ['--test', join(repoRoot, 'tools', 'publish', 'test')], {
  cwd: repoRoot,
})
tally.check(
  'tools/publish self-tests (node --test)',
  selfTest.status === 0,
  tail(selfTest.stdout, selfTest.status === 0 ? 0 : 40).filter(
    (l) => /^# (pass|fail)|not ok/.test(l) || selfTest.status !== 0,
  ),
)

if (!process.argv.includes('--no-build')) {
  const filters = packages.map((p) => `--filter=${p.name}`)
  const build = run('pnpm', ['exec', 'turbo', 'run', 'build', ...filters], { cwd: repoRoot })
  tally.check('build (turbo)', build.status === 0, build.status === 0 ? [] : tail(build.output))
  if (build.status !== 0) process.exit(tally.finish())
}

const platformOf = (/** @type {string} */ name) => packages.find((p) => p.name === name)?.manifest

for (const p of packages) {
  console.log(`\n== ${p.name}`)
  const packed = pack(p.dir, work)
  if (!packed.ok) {
    tally.check(`${p.name}: pack`, false, packed.error)
    continue
  }
  const { tarball } = packed
  const files = tarballFiles(tarball)
  const manifest = tarballManifest(tarball)
  const native = isNative(files)
  const before = tally.failed
  console.log(`   ${tarball} (${files.length} files)`)
  for (const f of files) console.log(`     ${f}`)

  const unwanted = unwantedFiles(files, manifest)
  tally.check(
    `${p.name}: ships only what it needs`,
    unwanted.length === 0,
    unwanted.map((u) => `${u.file}: ${u.reason}`),
  )
  const missing = missingFiles(files, manifest)
  tally.check(
    `${p.name}: has docs, license, changelog, entry files${native ? ', prebuild' : ''}`,
    missing.length === 0,
    missing.map((m) => `missing ${m}`),
  )
  const problems = manifestProblems(manifest, platformOf, { native })
  tally.check(`${p.name}: package.json`, problems.length === 0, problems)

  const lint = await runPublint(tarball)
  tally.check(`${p.name}: publint`, lint.ok, [...lint.problems, ...lint.notes])
  const types = runAttw(tarball)
  tally.check(`${p.name}: attw (esm-only)`, types.ok, [...types.problems, ...types.notes])

  // Not a failure: maps that point at unshipped sources only break "go to source" in editors.
  const unpacked = join(work, p.name.replace('/', '+'))
  mkdirSync(unpacked, { recursive: true })
  run('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1'])
  const maps = new Map(
    files
      .filter((f) => f.endsWith('.map'))
      .map((f) => [f, readFileSync(join(unpacked, f), 'utf8')]),
  )
  const dangling = danglingMapSources(maps, files)
  if (dangling.length > 0)
    console.log(
      `note  ${p.name}: ${dangling.length} source map targets are not in the tarball (e.g. ` +
        `${dangling.slice(0, 2).join(', ')}): ship src/ or build without maps`,
    )
  const readme = join(unpacked, 'README.md')
  const links = existsSync(readme) ? brokenReadmeLinks(readFileSync(readme, 'utf8'), files) : []
  if (links.length > 0)
    console.log(`note  ${p.name}: README links to files the tarball lacks: ${links.join(', ')}`)
  console.log(`verdict ${p.name}: ${tally.failed === before ? 'ok' : 'NOT publishable'}`)
}

if (keep) console.log(`\ntarballs kept in ${work}`)
else rmSync(work, { recursive: true, force: true })
process.exit(tally.finish())
