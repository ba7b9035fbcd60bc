#!/usr/bin/env node
// setPending throughput of the userspace engine against a C implementation of the same algorithm
// (GCC atomic builtins), compiled with gcc -O2 in this run, on the same workload: a 64-bit guest,
// 4 vCPUs, every 16th port masked; each round delivers ports 1..4095 to vCPU (port & 3), then the
// guest consumes everything. Both print a checksum of return codes and notifications, which must
// match. Prints both rates and the ratio (target: JS at least half of C).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GuestMemory } from '@tsvmm/guest-memory'
import { EvtchnEngine } from '../dist/index.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10_000)
const TRIALS = 5
const PORTS = 4096
const VCPUS = 4
const SHINFO = 0x10000
const source = fileURLToPath(
  new URL('../../../tools/bench/xen-evtchn/set_pending.c', import.meta.url),
)

function runC() {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-bench-'))
  try {
    const bin = join(dir, 'set_pending')
    execFileSync('gcc', ['-O2', '-std=gnu11', '-o', bin, source], { stdio: 'inherit' })
    const run = (mode) =>
      Array.from({ length: TRIALS }, () =>
        JSON.parse(execFileSync(bin, [String(ROUNDS), mode], { encoding: 'utf8' })),
      )
    return { rmw: run('rmw'), loadFirst: run('load-first') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function runJs() {
  const memory = new GuestMemory([
    { gpa: 0, bytes: new Uint8Array(new SharedArrayBuffer(0x20000)) },
  ])
  let notifications = 0
  const engine = new EvtchnEngine({
    memory,
    vcpus: VCPUS,
    notify: (vcpu) => {
      notifications += vcpu + 1
    },
  })
  engine.setSharedInfo(SHINFO)
  for (let v = 0; v < VCPUS; v++) engine.setVcpuInfo(v, SHINFO + 64 * v)
  for (let p = 0; p < PORTS; p += 16) memory.testAndSetBit(SHINFO + 0xa00, p)
  // The guest's side, outside the engine: clear pending words, selectors and upcall_pending.
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
  const round = () => {
    let sum = 0
    for (let port = 1; port < PORTS; port++) sum += engine.setPending(port, port & 3)
    consume()
    return sum
  }
  // Warm up so the optimising compiler has the hot path.
  for (let r = 0; r < 2000; r++) round()
  const runs = []
  for (let t = 0; t < TRIALS; t++) {
    notifications = 0
    let checksum = 0
    const t0 = process.hrtime.bigint()
    for (let r = 0; r < ROUNDS; r++) checksum += round()
    const ns = Number(process.hrtime.bigint() - t0)
    runs.push({ calls: ROUNDS * (PORTS - 1), ns, checksum: checksum + notifications })
  }
  return runs
}

const best = (runs) => runs.reduce((a, b) => (b.calls / b.ns > a.calls / a.ns ? b : a))
const rate = (r) => (r.calls / r.ns) * 1e9

const cRuns = runC()
const c = best(cRuns.rmw)
const cLoadFirst = best(cRuns.loadFirst)
const js = best(runJs())
for (const other of [cLoadFirst, js]) {
  if (other.checksum !== c.checksum) {
    console.error(
      `checksum mismatch: ${c.checksum} vs ${other.checksum}: the runs do different work`,
    )
    process.exit(1)
  }
}
const ratio = rate(js) / rate(c)
const m = (x) => `${(x / 1e6).toFixed(1)} M/s`
console.log(`xen-evtchn setPending (${c.calls} calls, best of ${TRIALS}, checksum ${c.checksum})`)
console.log(`  C, kernel algorithm (gcc -O2, test-and-set builtins): ${m(rate(c))}`)
console.log(`  C, load-first variant (what the JS engine does):      ${m(rate(cLoadFirst))}`)
console.log(`  JS (EvtchnEngine, Atomics on Int32Array lanes):       ${m(rate(js))}`)
console.log(
  `  ratio JS/C: ${ratio.toFixed(2)} against the kernel algorithm (target >= 0.50: ${ratio >= 0.5 ? 'met' : 'NOT met'}), ${(rate(js) / rate(cLoadFirst)).toFixed(2)} against the load-first C`,
)
