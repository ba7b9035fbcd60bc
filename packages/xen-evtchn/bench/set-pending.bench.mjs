#!/usr/bin/env node
// setPending throughput of the userspace engine against (1) a C implementation of the same
// algorithm (GCC atomic builtins, gcc -O2 in this run) and (2) the JS ceiling: a bare loop doing
// the same Atomics operations in the same order, with no engine around them, which is the most
// any JS implementation of the algorithm can reach. Workload: a 64-bit guest, 4 vCPUs, every 16th
// port masked; each round delivers ports 1..4095 to vCPU (port & 3), then the guest consumes
// everything. Every run prints a checksum of return codes and notifications; all must match.
// Times are process CPU time (C: CLOCK_PROCESS_CPUTIME_ID, JS: process.cpuUsage), and trials of
// the four runs are interleaved, so that other processes on a shared machine disturb them alike.
// Prints the rates and ratios (targets: engine >= 0.5x C, >= 0.9x the JS ceiling), and writes
// the rows to bench-results/xen-evtchn-set-pending.json at the repository root.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GuestMemory } from '@tsvmm/guest-memory'
import { EvtchnEngine } from '../dist/index.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5_000)
const TRIALS = Number(process.env.BENCH_TRIALS ?? 7)
const PORTS = 4096
const VCPUS = 4
const SHINFO = 0x10000
const root = fileURLToPath(new URL('../../../', import.meta.url))
const source = join(root, 'tools/bench/xen-evtchn/set_pending.c')

/** Guest memory with the workload's masks, and the guest's consume step. */
function workload() {
  const memory = new GuestMemory([
    { gpa: 0, bytes: new Uint8Array(new SharedArrayBuffer(0x20000)) },
  ])
  for (let p = 0; p < PORTS; p += 16) memory.testAndSetBit(SHINFO + 0xa00, p)
  // The guest's side, outside the measured code: clear pending words, selectors, upcall_pending.
  const pending = memory.lanes(SHINFO + 0x800, 0x200)
  const vcpuInfo = Array.from({ length: VCPUS }, (_, v) => memory.lanes(SHINFO + 64 * v, 16))
  const consume = () => {
    pending.fill(0)
    for (const vi of vcpuInfo) {
      Atomics.store(vi, 0, 0)
      Atomics.store(vi, 2, 0)
      Atomics.store(vi, 3, 0)
    }
  }
  return { memory, consume }
}

/** A JS run: `round()` delivers one round and returns its checksum; warmed up before timing. */
function jsRun(round, notifications) {
  for (let r = 0; r < 2000; r++) round()
  return () => {
    notifications.n = 0
    let checksum = 0
    // Process CPU time, as the C side: wall time on a shared machine counts other processes too.
    const t0 = process.cpuUsage()
    for (let r = 0; r < ROUNDS; r++) checksum += round()
    const dt = process.cpuUsage(t0)
    const ns = (dt.user + dt.system) * 1000
    return { calls: ROUNDS * (PORTS - 1), ns, checksum: checksum + notifications.n }
  }
}

function engineRun() {
  const { memory, consume } = workload()
  const notifications = { n: 0 }
  const engine = new EvtchnEngine({
    memory,
    vcpus: VCPUS,
    notify: (vcpu) => {
      notifications.n += vcpu + 1
    },
  })
  engine.setSharedInfo(SHINFO)
  for (let v = 0; v < VCPUS; v++) engine.setVcpuInfo(v, SHINFO + 64 * v)
  return jsRun(() => {
    let sum = 0
    for (let port = 1; port < PORTS; port++) sum += engine.setPending(port, port & 3)
    consume()
    return sum
  }, notifications)
}

/**
 * The JS ceiling: exactly the Atomics operations the engine's setPending performs (test-and-set
 * of the pending bit, load of the mask bit, load-first selector and upcall_pending, notify),
 * inlined in the loop with constant offsets and no checks.
 */
function ceilingRun() {
  const { memory, consume } = workload()
  const notifications = { n: 0 }
  const notify = (vcpu) => {
    notifications.n += vcpu + 1
  }
  const sh = memory.lanes(SHINFO, 0x1000)
  const vis = Array.from({ length: VCPUS }, (_, v) => memory.lanes(SHINFO + 64 * v, 64))
  return jsRun(() => {
    let sum = 0
    for (let port = 1; port < PORTS; port++) {
      const lane = port >>> 5
      const bit = 1 << (port & 31)
      if ((Atomics.or(sh, 512 + lane, bit) & bit) !== 0) continue
      if ((Atomics.load(sh, 640 + lane) & bit) !== 0) {
        sum -= 107
        continue
      }
      sum += 1
      const vi = vis[port & 3]
      const word = port >>> 6
      const sbit = 1 << (word & 31)
      const si = 2 + (word >>> 5)
      if ((Atomics.load(vi, si) & sbit) !== 0 || (Atomics.or(vi, si, sbit) & sbit) !== 0) continue
      if ((Atomics.load(vi, 0) & 1) !== 0 || (Atomics.or(vi, 0, 1) & 1) !== 0) continue
      notify(port & 3)
    }
    consume()
    return sum
  }, notifications)
}

const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-'))
const runs = { c: [], cLoadFirst: [], ceiling: [], engine: [] }
try {
  const bin = join(dir, 'set_pending')
  execFileSync('gcc', ['-O2', '-std=gnu11', '-o', bin, source], { stdio: 'inherit' })
  const c = (mode) => JSON.parse(execFileSync(bin, [String(ROUNDS), mode], { encoding: 'utf8' }))
  const engine = engineRun()
  const ceiling = ceilingRun()
  for (let t = 0; t < TRIALS; t++) {
    runs.c.push(c('rmw'))
    runs.engine.push(engine())
    runs.cLoadFirst.push(c('load-first'))
    runs.ceiling.push(ceiling())
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const rate = (r) => (r.calls / r.ns) * 1e9
const best = (rs) => rs.reduce((a, b) => (rate(b) > rate(a) ? b : a))
const median = (rs) => [...rs].sort((a, b) => rate(a) - rate(b))[Math.floor(rs.length / 2)]
const checksum = runs.c[0].checksum
for (const [name, rs] of Object.entries(runs))
  for (const r of rs)
    if (r.checksum !== checksum) {
      console.error(`checksum mismatch in ${name}: ${r.checksum} vs ${checksum}: different work`)
      process.exit(1)
    }

const [c, cLoadFirst, ceiling, engine] = [runs.c, runs.cLoadFirst, runs.ceiling, runs.engine].map(
  (rs) => rate(best(rs)),
)
const m = (x) => `${(x / 1e6).toFixed(1)} M/s`
const med = (rs) => m(rate(median(rs)))
console.log(
  `xen-evtchn setPending (${runs.c[0].calls} calls per trial, best of ${TRIALS} interleaved trials, median after it, checksum ${checksum})`,
)
console.log(`  C, kernel algorithm (gcc -O2, test-and-set builtins): ${m(c)} (${med(runs.c)})`)
console.log(
  `  C, load-first variant (what the JS engine does):      ${m(cLoadFirst)} (${med(runs.cLoadFirst)})`,
)
console.log(
  `  JS ceiling (the same Atomics ops in a bare loop):      ${m(ceiling)} (${med(runs.ceiling)})`,
)
console.log(
  `  JS engine (EvtchnEngine.setPending):                   ${m(engine)} (${med(runs.engine)})`,
)
const vsC = engine / c
const vsCeiling = engine / ceiling
console.log(
  `  engine/C ${vsC.toFixed(2)} (target >= 0.50: ${vsC >= 0.5 ? 'met' : 'NOT met'}), engine/ceiling ${vsCeiling.toFixed(2)} (target >= 0.90: ${vsCeiling >= 0.9 ? 'met' : 'NOT met'}), ceiling/C ${(ceiling / c).toFixed(2)}`,
)

const row = (benchmark, baseline, baselineName, target, min) => ({
  benchmark,
  unit: 'M calls/s',
  tsvmm: engine / 1e6,
  baseline: baseline / 1e6,
  baselineName,
  ratio: engine / baseline,
  target,
  met: engine / baseline >= min,
})
mkdirSync(join(root, 'bench-results'), { recursive: true })
writeFileSync(
  join(root, 'bench-results', 'xen-evtchn-set-pending.json'),
  `${JSON.stringify(
    [
      row('xen-evtchn setPending vs C', c, 'C gcc -O2, kernel algorithm', '>= 0.5x', 0.5),
      row(
        'xen-evtchn setPending vs JS ceiling',
        ceiling,
        'JS bare loop, same Atomics ops',
        '>= 0.9x',
        0.9,
      ),
    ],
    null,
    2,
  )}\n`,
)
