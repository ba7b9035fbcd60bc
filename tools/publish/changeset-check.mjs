#!/usr/bin/env node
// pnpm check:changesets — runs `changeset version` on a scratch copy of the repository's
// versioning inputs (never the real tree) for a few changesets, and checks the bumps across the
// dependency graph, the CHANGELOGs, the ranges pnpm publishes, and that the private app is not
// versioned. Ends with "N passed, N failed"; exits 1 on any failure.
//   node tools/publish/changeset-check.mjs [--keep]
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { copyVersioningInputs, expectedVersions, workspaceFolders } from './lib/changesets.mjs'
import { pack, tarballManifest } from './lib/pack.mjs'
import { run, tail } from './lib/run.mjs'
import { Tally } from './lib/tally.mjs'
import { readManifest, repoRoot } from './lib/workspace.mjs'

const keep = process.argv.includes('--keep')
const tally = new Tally()
const changesetBin = join(repoRoot, 'node_modules', '@changesets', 'cli', 'bin.js')

/** @type {{ name: string, releases: Record<string, 'major' | 'minor' | 'patch'> }[]} */
const scenarios = [
  { name: 'kvm-sys minor', releases: { '@tsvmm/kvm-sys': 'minor' } },
  { name: 'guest-memory patch', releases: { '@tsvmm/guest-memory': 'patch' } },
  {
    name: 'kvm-sys major + irq-routing minor',
    releases: { '@tsvmm/kvm-sys': 'major', '@tsvmm/irq-routing': 'minor' },
  },
]

/** A fingerprint of what changeset version would change in the real tree. */
function realTreeFingerprint() {
  const h = createHash('sha256')
  for (const f of workspaceFolders(repoRoot))
    for (const file of ['package.json', 'CHANGELOG.md']) {
      const p = join(repoRoot, f, file)
      h.update(`${p}\0${existsSync(p) ? readFileSync(p) : '-'}\0`)
    }
  h.update(run('git', ['status', '--porcelain', '--', '.changeset'], { cwd: repoRoot }).stdout)
  return h.digest('hex')
}

const before = realTreeFingerprint()
const work = mkdtempSync(join(tmpdir(), 'tsvmm-changesets-'))

for (const s of scenarios) {
  console.log(`\n== ${s.name}`)
  const dir = join(work, s.name.replace(/\W+/g, '-'))
  copyVersioningInputs(repoRoot, dir)
  const folders = workspaceFolders(dir)
  const manifests = new Map(folders.map((f) => [f, readManifest(join(dir, f))]))
  const names = new Set([...manifests.values()].map((m) => m.name))
  const graph = new Map(
    [...manifests.values()].map((m) => [
      m.name,
      {
        version: m.version,
        private: m.private === true,
        deps: ['dependencies', 'peerDependencies', 'optionalDependencies'].flatMap((k) =>
          Object.keys(m[k] ?? {}).filter((d) => names.has(d)),
        ),
      },
    ]),
  )
  const want = expectedVersions(graph, s.releases)
  const hadChangelog = new Set(folders.filter((f) => existsSync(join(dir, f, 'CHANGELOG.md'))))

  const front = Object.entries(s.releases).map(([n, t]) => `'${n}': ${t}`)
  const summary = `Scenario ${s.name}: a change worth a release`
  writeFileSync(
    join(dir, '.changeset', 'scenario.md'),
    `---\n${front.join('\n')}\n---\n\n${summary}\n`,
  )
  const v = run('node', [changesetBin, 'version'], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1' },
  })
  if (
    !tally.check(
      `${s.name}: changeset version runs`,
      v.status === 0,
      tail(v.output, v.status === 0 ? 1 : 20),
    )
  )
    continue

  for (const f of folders) {
    const m = readManifest(join(dir, f))
    const old = graph.get(m.name)
    const expected = want.get(m.name)
    const bumped = expected !== old?.version
    const what = m.private
      ? 'private, not versioned'
      : bumped
        ? `${old?.version} -> ${expected}`
        : 'unchanged'
    const log = join(dir, f, 'CHANGELOG.md')
    const text = existsSync(log) ? readFileSync(log, 'utf8') : ''
    /** @type {string[]} */
    const problems = []
    if (m.version !== expected) problems.push(`version ${m.version}, expected ${expected}`)
    if (bumped) {
      if (!text.startsWith(`# ${m.name}\n`))
        problems.push('CHANGELOG.md missing or without its heading')
      if (!text.includes(`## ${expected}`)) problems.push(`CHANGELOG.md has no "## ${expected}"`)
      const own = s.releases[m.name]
      if (own) {
        const heading = `### ${own[0]?.toUpperCase()}${own.slice(1)} Changes`
        if (!text.includes(heading) || !text.includes(summary))
          problems.push(`CHANGELOG.md lacks "${heading}" with the changeset's summary`)
      } else {
        if (!text.includes('### Patch Changes'))
          problems.push('CHANGELOG.md lacks "### Patch Changes"')
        for (const d of graph.get(m.name)?.deps ?? [])
          if (want.get(d) !== graph.get(d)?.version && !text.includes(`${d}@${want.get(d)}`))
            problems.push(`CHANGELOG.md does not name ${d}@${want.get(d)}`)
      }
    } else if (!hadChangelog.has(f) && text !== '')
      problems.push('a CHANGELOG.md was written for it')
    tally.check(`${s.name}: ${m.name} ${what}`, problems.length === 0, problems)
  }
  tally.check(
    `${s.name}: the changeset was consumed`,
    !existsSync(join(dir, '.changeset', 'scenario.md')),
  )

  // The ranges a consumer sees: pnpm pack rewrites workspace:* to the new versions.
  for (const f of folders) {
    const m = readManifest(join(dir, f))
    const deps = Object.keys(m.dependencies ?? {}).filter((d) => names.has(d))
    if (m.private || deps.length === 0 || want.get(m.name) === graph.get(m.name)?.version) continue
    const r = pack(join(dir, f), join(dir, 'tarballs'))
    if (!r.ok) {
      tally.check(`${s.name}: ${m.name} packs`, false, r.error)
      continue
    }
    const packed = tarballManifest(r.tarball).dependencies ?? {}
    const wrong = deps.filter((d) => {
      const range = String(packed[d])
      // pnpm turns workspace:* into the exact version, workspace:^ into ^version.
      return !new RegExp(`^[\\^~]?${String(want.get(d)).replaceAll('.', '\\.')}$`).test(range)
    })
    tally.check(
      `${s.name}: ${m.name} publishes ranges on the new versions`,
      wrong.length === 0,
      deps.map((d) => `${d}: ${packed[d]} (expected ${want.get(d)})`),
    )
  }
}

tally.check('the real tree is untouched', realTreeFingerprint() === before)
if (keep) console.log(`\nscratch kept in ${work}`)
else rmSync(work, { recursive: true, force: true })
process.exit(tally.finish())
