#!/usr/bin/env node
// `pnpm demo`: builds the workspace, then, on real KVM (a local /dev/kvm with Xen event channels,
// else the emulated host of tools/kvm-host, in one boot), prints the capability report of the KVM it
// finds and runs the reference VMM's demo guest in both delivery modes and both guest widths,
// then boots Linux as a Xen HVM guest in both delivery modes.
// It shows one line per step (each package built, QEMU install, kernel download, host boot, each
// guest run); everything else goes to a log file, named when something fails.
// The last line is the demo's "N passed, N failed"; the exit code is non-zero on any failure.
import { fileURLToPath } from 'node:url'
import { elapsed, openLog, runLogged, turboTaskLine } from './progress.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const tsvmm = 'node apps/vmm/dist/main.js'
const start = Date.now()
const log = openLog('demo')
const say = (/** @type {string} */ m) => console.log(`demo: ${m}`)
const fail = (/** @type {string} */ why, /** @type {number} */ status) => {
  console.error(`demo: ${why}; the full log is ${log.path}`)
  console.log(`demo: ended after ${elapsed(start)}`)
  process.exit(status || 1)
}

say('building the workspace (the first time: the native addon, the guests, every package)')
const seen = new Set()
/** @type {string[]} */
const errors = []
const built = await runLogged(
  'pnpm',
  ['exec', 'turbo', 'run', 'build', '--log-order=grouped', '--output-logs=full'],
  {
    log,
    cwd: root,
    onLine: (line) => {
      const p = turboTaskLine(line, seen)
      if (p) say(`  ${p}`)
      if (/error|ERR!|failed/i.test(line)) errors.push(line)
    },
  },
)
if (built !== 0) {
  for (const e of errors.slice(-10)) console.error(`  ${e}`)
  fail(`the build failed (exit ${built})`, built)
}

say('KVM capabilities and the demo guest, on real KVM')
/** The current guest run: its title, start time and counts. */
let run = /** @type {{ title: string, t: number, passed: number, failed: number } | undefined} */ (
  undefined
)
let inCaps = true
let summary = ''
/** @type {string[]} */
const stderrTail = []
const status = await runLogged(
  'node',
  [
    'tools/kvm-host/cli.mjs',
    '--',
    'sh',
    '-c',
    `${tsvmm} caps && ${tsvmm} demo --here ${process.argv.slice(2).join(' ')}`,
  ],
  {
    log,
    cwd: root,
    onLine: (line, stream) => {
      if (stream === 'err') {
        // kvm-host's own lines are the steps (QEMU install, kernel download, boot): show them.
        if (line.startsWith('kvm-host: ')) say(`  ${line.slice(10)}`)
        else if (line.trim()) {
          stderrTail.push(line)
          if (stderrTail.length > 20) stderrTail.shift()
        }
        return
      }
      const head = /^== (.*)$/.exec(line)
      if (head) {
        inCaps = false
        run = { title: head[1] ?? '', t: Date.now(), passed: 0, failed: 0 }
        return
      }
      if (inCaps) {
        if (line.trim()) console.log(`  ${line}`) // the capability report is the demo's first result
        return
      }
      if (/^\d+ passed, \d+ failed$/.test(line)) summary = line
      else if (run && line.startsWith('PASS ')) run.passed++
      else if (run && line.startsWith('FAIL ')) {
        run.failed++
        console.log(`    ${line}`)
      } else if (run && (line.startsWith('ok: ') || line.startsWith('FAIL run'))) {
        const secs = Math.round((Date.now() - run.t) / 1000)
        say(`  ${run.title}: ${run.passed} passed, ${run.failed} failed (${secs} s)`)
        if (line.startsWith('FAIL run')) console.log(`    ${line}`)
        run = undefined
      }
    },
  },
)
if (!summary) {
  for (const l of stderrTail) console.error(`  ${l}`)
  fail(`the KVM step failed (exit ${status}, no result line)`, status)
}
if (status !== 0) console.error(`demo: some checks failed; the full log is ${log.path}`)
say(`total time ${elapsed(start)}`)
console.log(summary)
process.exit(status)
