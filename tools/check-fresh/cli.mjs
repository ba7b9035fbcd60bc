#!/usr/bin/env node
// `pnpm check:fresh [bookworm] [trixie] [--measure] [--keep]`: the README's two commands, verbatim,
// on a bare Debian root of each release, as a newcomer with an empty HOME and a fresh clone would run
// them. Each must end with "N passed, 0 failed", N > 0. Runs as root (debootstrap, chroot, mount).
//   default    both commands one after the other in one fresh root per release
//   --measure  each command in its own fresh root twice: cold (first run), then warm (again)
// Ends with "N passed, N failed" over the commands run; full logs go to /var/tmp/tsvmm-fresh/.
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { exec } from '../kvm-host/lib/exec.mjs'
import { lastLine } from '../kvm-host/lib/host-tools.mjs'
import { mountSystem, removeRoot, runInRoot, unmountAll } from './lib/chroot.mjs'
import { freshEnv, provisionRoot } from './lib/provision.mjs'
import { repoReadmeCommands } from './lib/readme.mjs'
import { ensureRootTarball, hostMirrors, RELEASES } from './lib/root.mjs'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const args = process.argv.slice(2)
const releases = args.filter((a) => !a.startsWith('--'))
const measure = args.includes('--measure')
const keep = args.includes('--keep')
const quiet = args.includes('--quiet')
for (const r of releases)
  if (!RELEASES.includes(r)) {
    console.error(`check-fresh: unknown release ${r} (known: ${RELEASES.join(', ')})`)
    process.exit(2)
  }
if (process.getuid?.() !== 0) {
  console.error('check-fresh: needs root (debootstrap, chroot and mount)')
  process.exit(2)
}

const note = (/** @type {string} */ m) => console.log(`check-fresh: ${m}`)
const workBase = process.env.TSVMM_FRESH_WORK || '/var/tmp/tsvmm-fresh'
const head = execFileSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()
const dirty = execFileSync(
  'git',
  ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'],
  {
    encoding: 'utf8',
  },
).trim()
if (dirty)
  note(`uncommitted changes are not checked: the root gets the committed HEAD ${head.slice(0, 12)}`)
const commands = repoReadmeCommands(repoRoot)
const HOME = '/root'
const CLONE = '/work/tsvmm'

/** @type {{ release: string, n: number, run: string, seconds: number, ok: boolean, summary: string, log: string }[]} */
const results = []

/**
 * A fresh root of `release` with node, npm and a clone of HEAD: returns its directory.
 * @param {string} release
 * @param {string} label
 */
async function freshRoot(release, label) {
  const tarball = await ensureRootTarball(release, note)
  const dir = path.join(workBase, `${release}-${label}-${process.pid}`)
  await removeRoot(dir)
  const root = path.join(dir, 'root')
  mkdirSync(root, { recursive: true })
  const x = await exec('tar', ['-C', root, '-xf', tarball])
  if (x.status !== 0) throw new Error(`tar -xf ${tarball}: ${lastLine(x.stderr)}`)
  provisionRoot(root, release, hostMirrors())
  // No service may start inside a chroot (it would run on this host).
  writeFileSync(path.join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 })
  rmSync(path.join(root, HOME), { recursive: true, force: true })
  mkdirSync(path.join(root, HOME), { mode: 0o700 })
  mkdirSync(path.dirname(path.join(root, CLONE)), { recursive: true })
  const c = await exec('git', [
    'clone',
    '--quiet',
    '--no-hardlinks',
    repoRoot,
    path.join(root, CLONE),
  ])
  const co =
    c.status === 0
      ? await exec('git', ['-C', path.join(root, CLONE), 'checkout', '--quiet', '--detach', head])
      : c
  if (co.status !== 0) throw new Error(`git clone of ${repoRoot}: ${lastLine(co.stderr)}`)
  await mountSystem(root)
  return dir
}

/**
 * Runs README command `n` (1-based) in the root under `dir` and records the result.
 * @param {string} release
 * @param {string} dir
 * @param {number} n
 * @param {string} run cold, warm or after-1
 */
async function readmeCommand(release, dir, n, run) {
  const cmd = /** @type {string} */ (commands[n - 1])
  const log = path.join(dir, `${release}-command${n}-${run}.log`)
  note(`${release}: README command ${n} (${run}): ${cmd}`)
  const started = Date.now()
  const r = await runInRoot(
    path.join(dir, 'root'),
    `cd ${CLONE} && ${cmd}`,
    freshEnv(process.env, HOME),
    log,
    (line) => {
      if (!quiet) console.log(`  | ${line}`)
    },
  )
  const seconds = Math.round((Date.now() - started) / 1000)
  const summary = r.output.match(/^(\d+) passed, (\d+) failed$/gm)?.pop() ?? ''
  const [p, f] = summary.split(/ passed, | failed/).map(Number)
  const ok = r.status === 0 && (p ?? 0) > 0 && f === 0
  results.push({ release, n, run, seconds, ok, summary: summary || 'no summary line', log })
  note(
    `${release}: README command ${n} (${run}): ${ok ? 'ok' : 'FAILED'}, exit ${r.status}, "${summary || 'no summary line'}" in ${seconds} s${ok ? '' : `; log: ${log}`}`,
  )
  // The root may be gone by the time anyone reads the log (CI removes its machine): say here what
  // failed, with the lines that name it and the output's end.
  if (!ok && quiet) {
    const lines = r.output.split('\n')
    const named = lines.filter((l) => /\b(FAIL|Error|ERR!)\b|^\s*(×|❯)/.test(l)).slice(0, 40)
    for (const l of [...named, '...', ...lines.slice(-25)]) console.log(`  | ${l}`)
  }
  return ok
}

let failedSetup = 0
for (const release of releases.length ? releases : RELEASES) {
  const plans = measure
    ? commands.map((_, i) => ({
        label: `cmd${i + 1}`,
        runs: [
          [i + 1, 'cold'],
          [i + 1, 'warm'],
        ],
      }))
    : [{ label: 'both', runs: commands.map((_, i) => [i + 1, i === 0 ? 'cold' : 'after-1']) }]
  for (const plan of plans) {
    let dir = ''
    let allOk = true
    try {
      dir = await freshRoot(release, plan.label)
      for (const [n, run] of plan.runs)
        allOk = (await readmeCommand(release, dir, Number(n), String(run))) && allOk
    } catch (err) {
      failedSetup++
      allOk = false
      note(`${release}: ${/** @type {Error} */ (err).message}`)
    } finally {
      if (dir) {
        const logs = path.join(workBase, 'logs')
        mkdirSync(logs, { recursive: true })
        await exec('sh', ['-c', `cp "$1"/*.log "$2"/ 2>/dev/null; true`, 'sh', dir, logs])
        if (keep || !allOk) {
          await unmountAll(dir)
          note(`${release}: root kept in ${dir}`)
        } else await removeRoot(dir)
      }
    }
  }
}

for (const r of results)
  note(
    `${r.release} command ${r.n} ${r.run}: ${r.ok ? 'ok' : 'FAILED'} (${r.summary}, ${r.seconds} s)`,
  )
const passed = results.filter((r) => r.ok).length
const failed = results.length - passed + failedSetup
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 && passed > 0 ? 0 : 1)
