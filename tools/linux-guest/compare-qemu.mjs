#!/usr/bin/env node
// pnpm compare:qemu: tsvmm and QEMU 10 boot the same Debian kernel, initramfs and command line as
// a Xen HVM guest with 2 vCPUs, one after the other inside the same emulated KVM host, and this
// prints both boot times (process start to the /init marker) and the diff of the Xen facts: the
// Xen dmesg lines with numbers stripped, and the names of the xen-* interrupt rows. It also
// writes bench-results/linux-boot.json (target: tsvmm at most 1.0x QEMU's time).
// QEMU runs as the issue and shared/nested-kvm/l2xen say: -accel kvm,xen-version=0x4000a,
// kernel-irqchip=split -machine pc -cpu qemu64 -smp 2 -m 512 -nodefaults -serial stdio -no-reboot.
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { bootFacts, xenInterruptNames } from './facts.mjs'
import { linuxGuest } from './index.mjs'
import { ensureQemu10 } from './qemu10.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '..', '..')
const TSVMM = path.join(root, 'apps', 'vmm', 'dist', 'main.js')
// A hang is the serial line going quiet; a slow boot (other emulated hosts on the same cores) is not.
const BOOT_TIMEOUT_MS = 900_000
const HANG_QUIET_MS = 180_000
const ATTEMPTS = 3
/** Facts QEMU has and tsvmm does not, until the PV-device issue (QEMU adds xen-platform-pci). */
const EXPECTED_QEMU_ONLY = [
  /pirq/i,
  /platform.pci|platform_pci/i,
  /grant.table/i,
  /xenbus/i,
  /xen-dyn/,
]
const EXPECTED_TSVMM_ONLY = [/platform_pci_unplug: Xen Platform PCI: unrecognised magic/i]

function kvmUsable() {
  try {
    closeSync(openSync('/dev/kvm', 'r+'))
    return true
  } catch {
    return false
  }
}

/**
 * Runs one boot; resolves with its serial log and the seconds to the /init marker.
 * @param {string} cmd @param {string[]} args @param {NodeJS.ProcessEnv} [env]
 */
function boot(cmd, args, env = process.env) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
    let log = ''
    let stderr = ''
    /** @type {number | undefined} */
    let toInit
    const timer = setTimeout(() => child.kill('SIGKILL'), BOOT_TIMEOUT_MS)
    let last = Date.now()
    const quiet = setInterval(() => {
      if (Date.now() - last > HANG_QUIET_MS) child.kill('SIGKILL')
    }, 5000)
    child.stdout.on('data', (d) => {
      last = Date.now()
      log += d.toString()
      if (toInit === undefined && log.includes('TSVMM-INIT '))
        toInit = (Date.now() - started) / 1000
    })
    child.stderr.on('data', (d) => {
      stderr += d.toString()
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      clearInterval(quiet)
      resolve({ code, log, stderr, toInit, seconds: (Date.now() - started) / 1000 })
    })
  })
}

/** Boots until the /init report is complete (at most ATTEMPTS times). */
async function bootUntilDone(name, cmd, args, env) {
  let last
  for (let a = 1; a <= ATTEMPTS; a++) {
    last = { ...(await boot(cmd, args, env)), attempts: a }
    if (bootFacts(last.log).done) return last
    console.error(
      `compare:qemu: ${name} attempt ${a} did not finish its /init report (exit ${last.code})`,
    )
  }
  return last
}

async function inside() {
  const g = await linuxGuest()
  const q = ensureQemu10()
  const tsvmm = await bootUntilDone('tsvmm', process.execPath, [
    TSVMM,
    'run',
    '--kernel',
    g.vmlinuz,
    '--initrd',
    g.initramfs,
    '--cmdline',
    g.cmdline,
    '--vcpus',
    '2',
    '--memory',
    '512M',
    '--delivery',
    'kernel',
    '--no-reboot',
  ])
  const qemu = await bootUntilDone(
    'QEMU 10',
    q.loader,
    [
      '--library-path',
      q.lib,
      q.bin,
      '-L',
      q.data,
      '-L',
      q.seabios,
      '-accel',
      'kvm,xen-version=0x4000a,kernel-irqchip=split',
      '-machine',
      'pc',
      '-cpu',
      'qemu64',
      '-smp',
      '2',
      '-m',
      '512',
      '-nodefaults',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-monitor',
      'none',
      '-no-reboot',
      '-kernel',
      g.vmlinuz,
      '-initrd',
      g.initramfs,
      '-append',
      g.cmdline,
    ],
    { ...process.env, QEMU_MODULE_DIR: q.modules },
  )
  report(tsvmm, qemu)
}

function report(t, q) {
  const ft = bootFacts(t.log)
  const fq = bootFacts(q.log)
  const fmt = (b) => (b.toInit === undefined ? 'no /init' : `${b.toInit.toFixed(1)} s`)
  console.log(
    '\n== boot time, process start to /init (2 vCPUs, same kernel, initramfs, cmdline) ==',
  )
  console.log(
    `tsvmm (kernel delivery)   ${fmt(t).padStart(10)}   attempts ${t.attempts}, exit ${t.code}`,
  )
  console.log(
    `QEMU 10 (split irqchip)   ${fmt(q).padStart(10)}   attempts ${q.attempts}, exit ${q.code}`,
  )
  const ratio = t.toInit !== undefined && q.toInit !== undefined ? t.toInit / q.toInit : undefined
  if (ratio !== undefined)
    console.log(`ratio tsvmm/QEMU          ${ratio.toFixed(2)}x (target <= 1.0x)`)
  const diff = (name, a, b) => {
    const onlyA = a.filter((x) => !b.includes(x))
    const onlyB = b.filter((x) => !a.includes(x))
    const tag = (x, expected) => (expected.some((r) => r.test(x)) ? '  (expected)' : '')
    console.log(`\n== ${name} ==`)
    for (const x of a.filter((x) => b.includes(x))) console.log(`  both   ${x}`)
    for (const x of onlyA) console.log(`  tsvmm  ${x}${tag(x, EXPECTED_TSVMM_ONLY)}`)
    for (const x of onlyB) console.log(`  QEMU   ${x}${tag(x, EXPECTED_QEMU_ONLY)}`)
  }
  diff('Xen dmesg lines (numbers stripped)', ft.xenLines, fq.xenLines)
  diff('xen-* interrupt rows', xenInterruptNames(ft), xenInterruptNames(fq))
  const loc = (f) => f.interrupts.find((r) => r.irq === 'LOC')?.perCpu.join(' ') ?? '-'
  console.log(`\nLOC (local APIC timer): tsvmm ${loc(ft)}, QEMU ${loc(fq)}`)
  console.log(
    `problems (Oops/BUG/WARNING): tsvmm ${ft.problems.length}, QEMU ${fq.problems.length}`,
  )
  for (const p of [
    ...ft.problems.map((x) => `tsvmm: ${x}`),
    ...fq.problems.map((x) => `QEMU: ${x}`),
  ])
    console.log(`  ${p}`)
  const dir = path.join(root, 'bench-results')
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    path.join(dir, 'linux-boot.json'),
    `${JSON.stringify({
      benchmark: 'linux-boot-to-init',
      unit: 's',
      tsvmm: t.toInit ?? null,
      baseline: q.toInit ?? null,
      baselineName: 'QEMU 10.0 -accel kvm,xen-version=0x4000a,kernel-irqchip=split',
      ratio: ratio ?? null,
      target: '<= 1.0',
      met: ratio === undefined ? null : ratio <= 1,
    })}\n`,
  )
}

if (process.argv.includes('--inside') || kvmUsable()) {
  await inside()
} else {
  // Outside: make the kernel, initramfs and QEMU bundle here (the emulated host has no network
  // and no cache), then run this script there, with bench-results/ collected back.
  await linuxGuest((m) => console.error(`compare:qemu: ${m}`))
  ensureQemu10((m) => console.error(`compare:qemu: ${m}`))
  if (!existsSync(TSVMM)) spawnSync('pnpm', ['build'], { cwd: root, stdio: 'inherit' })
  const r = spawnSync(
    process.execPath,
    [
      path.join(root, 'tools', 'kvm-host', 'cli.mjs'),
      '--collect',
      'bench-results',
      '--timeout',
      '2400',
      '--',
      process.execPath,
      path.join(here, 'compare-qemu.mjs'),
      '--inside',
    ],
    { cwd: root, stdio: 'inherit' },
  )
  process.exit(r.status ?? 1)
}
