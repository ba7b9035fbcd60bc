// Benchmark (not a test): event latency, a backend's notify() in tsvmm -> the guest's upcall
// handler running, with the guest's vCPU halted in between (how a PV frontend waits for its
// backend). The guest (tools/guests/build/latency64.elf) asks the VMM's backend to notify a port
// 2 ms later, halts, and times the upcall against the notify on the same clock (its pvclock, the
// VM's kvmclock); 200 rounds per run, median and p99. Runs in kernel and user delivery.
// It needs KVM with Xen support: without it here, `pnpm bench --emulated` (TSVMM_BENCH_EMULATED=1)
// runs it inside tools/kvm-host, where the figures are the emulated host's; otherwise it writes
// "not measured" rows. There is no C baseline: no peer exposes this hook, so the rows have no
// ratio or target (issue 15 asks for the figures).
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = join(here, '..', '..', '..')
const main = join(here, '..', 'dist', 'main.js')
const image = join(root, 'tools', 'guests', 'build', 'latency64.elf')
const MODES = ['kernel', 'user']
const name = (mode, where) => `vmm event latency, notify() -> upcall, ${mode} delivery, ${where}`
const inside = process.argv.includes('--inside')
const { notMeasured, printRow, runInKvmHost, writeRows } = await import(
  '../../../tools/bench/rows.mjs'
)
const notMeasuredRow = (benchmark, reason) => notMeasured(benchmark, reason, { unit: 'µs' })

/** Runs the latency guest once in `mode`; its event_latency result, or why there is none. */
function measure(mode) {
  const r = spawnSync(
    process.execPath,
    [main, 'run', image, '--delivery', mode, '--json', '--console', 'none', '--timeout', '300'],
    { encoding: 'utf8' },
  )
  for (const line of (r.stdout ?? '').split('\n')) {
    if (!line.startsWith('{"type":"result"')) continue
    const res = JSON.parse(line)
    if (res.name !== 'event_latency') continue
    const m = /median (\d+) ns p99 (\d+) ns over (\d+)/.exec(res.message ?? '')
    if (!res.passed || !m) return { error: `the guest reported: ${res.message}` }
    return { median: Number(m[1]), p99: Number(m[2]), events: Number(m[3]) }
  }
  return { error: `tsvmm exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').at(-1)}` }
}

function rowsHere(where) {
  const rows = []
  for (const mode of MODES) {
    const m = measure(mode)
    if (m.error) {
      console.log(`event latency, ${mode} delivery: not measured: ${m.error}`)
      rows.push(notMeasuredRow(name(mode, where), m.error))
      continue
    }
    const us = (ns) => (ns / 1000).toFixed(1)
    console.log(
      `event latency, ${mode} delivery: median ${us(m.median)} µs, p99 ${us(m.p99)} µs over ${m.events} notifies`,
    )
    rows.push({
      benchmark: name(mode, where),
      unit: 'µs',
      tsvmm: m.median / 1000,
      baseline: m.p99 / 1000,
      baselineName: 'the p99; "now" is the median',
      ratio: null,
      target: '',
      met: null,
    })
  }
  return rows
}

if (inside) {
  for (const row of rowsHere('emulated KVM host (QEMU TCG)')) printRow(row)
  process.exit(0)
}

const caps = spawnSync(process.execPath, [main, 'caps', '--json'], { encoding: 'utf8' })
let xen = false
try {
  xen = JSON.parse(caps.stdout).autoDelivery === 'kernel'
} catch {
  // no KVM here: caps exits non-zero with the reason on stderr
}
if (xen) {
  writeRows('vmm-event-latency', rowsHere('local /dev/kvm'))
  process.exit(0)
}
if (process.env.TSVMM_BENCH_EMULATED !== '1') {
  const reason = 'no KVM with Xen support here (pnpm bench --emulated runs it in tools/kvm-host)'
  console.log(`vmm event latency: not measured: ${reason}`)
  writeRows(
    'vmm-event-latency',
    MODES.map((mode) => notMeasuredRow(name(mode, 'local /dev/kvm'), reason)),
  )
  process.exit(0)
}
const { status, rows } = runInKvmHost(fileURLToPath(import.meta.url))
if (rows.length > 0) writeRows('vmm-event-latency', rows)
process.exit(status)
