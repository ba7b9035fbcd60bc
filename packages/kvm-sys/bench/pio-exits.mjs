// Benchmark: port-I/O exits per second through kvm-sys, against the same KVM_RUN loop in C
// (bench/pio-exits.c, compiled with gcc in this run). Prints each rate and the ratio, and writes
// the kvmRun.io row to bench-results/ for `pnpm bench`'s table.
// Needs /dev/kvm (Xen not required); without it, it re-runs itself through tools/kvm-host.
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { abi, Kvm } from '@tsvmm/kvm-sys'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2)
const ROUNDS = 3

function haveKvm() {
  try {
    closeSync(openSync('/dev/kvm', 'r+'))
    return true
  } catch {
    return false
  }
}

const BIN = here('../build/bench/pio-exits')
// The run inside the emulated host (kvm-host passes arguments into the guest, not the environment).
const INSIDE = process.argv.includes('--inside')

// The C baseline is compiled here, on the host: the emulated KVM host has no compiler, and the
// run inside it finds the binary in the shared repository.
if (!INSIDE) {
  mkdirSync(here('../build/bench'), { recursive: true })
  execFileSync('gcc', ['-O2', '-static', '-Wall', '-o', BIN, here('./pio-exits.c')])
}

const BENCHMARK = 'kvm-sys port-I/O exits through vcpu.run(), local /dev/kvm'
const EMULATED =
  'kvm-sys port-I/O exits through vcpu.run(), inside the emulated KVM host (QEMU TCG)'
const { printRow, runInKvmHost, writeRows } = await import('../../../tools/bench/rows.mjs')

if (!haveKvm() && !INSIDE) {
  const { status, rows } = runInKvmHost(here('./pio-exits.mjs'))
  // The host is emulated: the figures are for information only.
  if (rows.length > 0)
    writeRows(
      'kvm-sys-pio-exits',
      rows.map((row) => ({ ...row, benchmark: EMULATED, met: null })),
    )
  process.exit(status)
}

function cBaseline() {
  return JSON.parse(execFileSync(BIN, [String(SECONDS)], { encoding: 'utf8' }))
}

/** The same guest and loop through kvm-sys; `decoded` reads kvmRun.io, else raw offsets. */
function kvmSys(decoded) {
  const kvm = Kvm.open()
  const vm = kvm.createVm()
  const ram = new Uint8Array(
    vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 }).buffer,
  )
  ram.set([0xb9, 0xff, 0xff, 0xba, 0x10, 0x00, 0xee, 0xfe, 0xc0, 0xe2, 0xfb, 0xf4], 0x1000)
  const vcpu = vm.createVcpu(0)
  const s = vcpu.getSregs()
  for (const n of ['cs', 'ds', 'es', 'ss']) s[n] = { ...s[n], base: 0n, selector: 0 }
  vcpu.setSregs(s)
  const regs = { ...vcpu.getRegs(), rip: 0x1000n, rflags: 2n }
  vcpu.setRegs(regs)
  const { view, bytes } = vcpu.kvmRun
  const portAt = abi.kvm_run.io.port
  const offsetAt = abi.kvm_run.io.data_offset
  let exits = 0
  let sum = 0
  const t0 = performance.now()
  let t = t0
  while (t - t0 < SECONDS * 1000) {
    const reason = vcpu.run()
    if (reason === abi.KVM_EXIT_IO) {
      if (decoded) {
        const io = vcpu.kvmRun.io
        sum += io.port + (io.data[0] ?? 0)
      } else {
        sum +=
          view.getUint16(portAt, true) + (bytes[Number(view.getBigUint64(offsetAt, true))] ?? 0)
      }
      exits++
      if ((exits & 1023) === 0) t = performance.now()
    } else if (reason === abi.KVM_EXIT_HLT) {
      vcpu.setRegs(regs)
    } else throw new Error(`unexpected exit ${reason}`)
  }
  const seconds = (performance.now() - t0) / 1000
  vm.close()
  kvm.close()
  return { exits, seconds, check: sum }
}

const best = (f) => {
  let top = 0
  for (let i = 0; i < ROUNDS; i++) {
    const r = f()
    top = Math.max(top, r.exits / r.seconds)
  }
  return top
}

const c = best(cBaseline)
const raw = best(() => kvmSys(false))
const decoded = best(() => kvmSys(true))
const fmt = (x) => `${Math.round(x).toLocaleString('en-US')} exits/s`
console.log(`kvm-sys PIO exits (best of ${ROUNDS} x ${SECONDS} s)`)
console.log(`  C KVM_RUN loop (gcc -O2):     ${fmt(c)}`)
console.log(`  kvm-sys, kvm_run by offsets:  ${fmt(raw)}  ratio ${(raw / c).toFixed(3)}`)
console.log(`  kvm-sys, kvmRun.io decoded:   ${fmt(decoded)}  ratio ${(decoded / c).toFixed(3)}`)
const row = {
  benchmark: BENCHMARK,
  unit: 'exits/s',
  tsvmm: decoded,
  baseline: c,
  baselineName: 'C KVM_RUN loop (gcc -O2, bench/pio-exits.c)',
  ratio: decoded / c,
  target: '',
  met: null,
}
if (INSIDE) printRow(row)
else writeRows('kvm-sys-pio-exits', [row])
