// Benchmark (not a test): guest exits handled per second by tsvmm against C. The guest
// (tools/guests/build/bench32.elf) does nothing but `out` to a port, so every iteration is one
// KVM_EXIT_IO handled in userspace. tsvmm runs it as `tsvmm run` would (a Machine, its vCPU on a
// worker thread); tools/bench/vmm/exits.c runs the same image with a plain KVM_RUN loop. Both run
// in the same KVM host, alternately, several rounds; the medians are compared.
// The guest uses no Xen, so any /dev/kvm does: tsvmm sets Xen HVM up when KVM offers it and runs
// without it otherwise. Where /dev/kvm does not open, the target (on a local /dev/kvm) cannot be
// measured: the bench writes a "not measured" row and stops, unless TSVMM_BENCH_EMULATED=1
// (`pnpm bench --emulated`) asks for the emulated run: then it starts itself inside
// tools/kvm-host (an emulated host, where every cycle of userspace costs far more: the ratio there
// is lower than on hardware). Exits non-zero only on error (gcc fails, a run fails), never for
// missing the target of 80% of C.
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROUNDS = 3
const WARMUP_MS = 1000
const MEASURE_MS = 4000
const TARGET = 0.9
const BENCHMARK = 'vmm exits handled by tsvmm (no Xen), local /dev/kvm'
const EMULATED = 'vmm exits handled by tsvmm, inside the emulated KVM host (QEMU TCG)'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = join(here, '..', '..', '..')
const image = join(root, 'tools', 'guests', 'build', 'bench32.elf')
const outDir = join(here, '..', 'bench-results')
const cBinary = join(outDir, 'exits-c')

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function kvmOpens() {
  try {
    closeSync(openSync('/dev/kvm', 'r+'))
    return true
  } catch {
    return false
  }
}

if (!process.argv.includes('--inside')) {
  // Compile the C side (static, so it also runs as is in the KVM host).
  mkdirSync(outDir, { recursive: true })
  execFileSync(
    'gcc',
    ['-O2', '-static', '-Wall', '-o', cBinary, join(root, 'tools', 'bench', 'vmm', 'exits.c')],
    {
      stdio: 'inherit',
    },
  )
}
if (!process.argv.includes('--inside') && !kvmOpens()) {
  const { notMeasured, runInKvmHost, writeRows } = await import('../../../tools/bench/rows.mjs')
  if (process.env.TSVMM_BENCH_EMULATED !== '1') {
    const reason = 'no /dev/kvm on this machine (pnpm bench --emulated runs it in tools/kvm-host)'
    writeRows('vmm-exits', [
      notMeasured(BENCHMARK, reason, { unit: 'exits/s', target: `>= ${TARGET}x` }),
    ])
    console.log(`vmm exits: not measured: ${reason}`)
    process.exit(0)
  }
  const { status, rows } = runInKvmHost(fileURLToPath(import.meta.url))
  // the host is emulated: the numbers are for information, the target is for real hardware
  if (rows.length > 0)
    writeRows(
      'vmm-exits',
      rows.map((row) => ({ ...row, benchmark: EMULATED, met: null })),
    )
  process.exit(status)
}

const { Machine } = await import('../dist/machine.js')
const { openKvm } = await import('../dist/builder.js')
const { DEFAULTS } = await import('../dist/cli/config.js')
const { capsReport } = await import('../dist/xen/caps.js')

const kvm = openKvm()
const xen = capsReport(kvm.capabilities()).blocker === undefined
kvm.close()

function runC() {
  const out = execFileSync(cBinary, [image, String(WARMUP_MS), String(MEASURE_MS)], {
    encoding: 'utf8',
  })
  const m = /exits=(\d+) ms=([\d.]+)/.exec(out)
  if (!m) throw new Error(`unexpected output from the C baseline: ${out}`)
  return (Number(m[1]) * 1000) / Number(m[2])
}

async function runTs() {
  const quiet = { console() {}, result() {}, log() {} }
  const o = await Machine.run(
    {
      ...DEFAULTS,
      image,
      delivery: 'user',
      console: 'none',
      xen,
      durationMs: WARMUP_MS + MEASURE_MS,
      measureAfterMs: WARMUP_MS,
    },
    quiet,
  )
  if (o.reason !== 'duration' || o.window === undefined)
    throw new Error(`tsvmm run ended: ${o.message}`)
  return (o.window.exits * 1000) / o.window.ms
}

const c = []
const ts = []
for (let i = 0; i < ROUNDS; i++) {
  c.push(runC())
  ts.push(await runTs())
  console.log(`round ${i + 1}: C ${Math.round(c[i])} exits/s, tsvmm ${Math.round(ts[i])} exits/s`)
}
const mc = median(c)
const mts = median(ts)
const ratio = mts / mc
console.log(
  `vmm exits${xen ? '' : ' (KVM without Xen: tsvmm ran without Xen HVM set-up)'}: tsvmm ${Math.round(mts)}/s, C ${Math.round(mc)}/s, ratio ${ratio.toFixed(2)} ` +
    `(target >= ${TARGET}: ${ratio >= TARGET ? 'met' : 'NOT met'})`,
)
const row = {
  benchmark: BENCHMARK,
  unit: 'exits/s',
  tsvmm: mts,
  baseline: mc,
  baselineName: 'C KVM_RUN loop (tools/bench/vmm/exits.c)',
  ratio,
  target: `>= ${TARGET}x`,
  met: ratio >= TARGET,
}
const { printRow, writeRows } = await import('../../../tools/bench/rows.mjs')
if (process.argv.includes('--inside')) printRow(row)
else writeRows('vmm-exits', [row])
