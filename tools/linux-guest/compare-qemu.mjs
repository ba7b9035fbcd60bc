#!/usr/bin/env node
// pnpm compare:qemu: tsvmm (kernel and user delivery) and QEMU 10 boot the same Debian kernel,
// initramfs and command line as a Xen HVM guest with 2 vCPUs, one after the other inside the same
// emulated KVM host, and this prints the boot times (process start to the /init marker) and the
// diff of the Xen facts: the Xen dmesg lines with numbers stripped, and the names of the xen-*
// interrupt rows. It also
// writes bench-results/linux-boot.json (target: tsvmm at most 1.0x QEMU's time).
// QEMU runs as the issue and shared/nested-kvm/l2xen say: -accel kvm,xen-version=0x4000a,
// kernel-irqchip=split -machine pc -cpu qemu64 -smp 2 -m 512 -nodefaults -serial stdio -no-reboot.
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { tsvmmLinuxArgs, bootUntilDone as untilDone } from './boot.mjs'
import { bootFacts, xenInterruptNames } from './facts.mjs'
import { linuxGuest } from './index.mjs'
import { ensureQemu10 } from './qemu10.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '..', '..')
const TSVMM = path.join(root, 'apps', 'vmm', 'dist', 'main.js')
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

/** Boots until the /init report is complete, saying so for each attempt that is not. */
function bootUntilDone(name, cmd, args, env) {
  return untilDone(cmd, args, {
    env,
    onAttempt: (b) => {
      if (!b.facts.done)
        console.error(
          `compare:qemu: ${name} attempt ${b.attempts} did not finish its /init report (exit ${b.code})`,
        )
    },
  })
}

async function inside() {
  const g = await linuxGuest()
  const q = ensureQemu10()
  const tsvmmBoot = (delivery) =>
    bootUntilDone(
      `tsvmm ${delivery}`,
      process.execPath,
      tsvmmLinuxArgs(TSVMM, g, delivery, ['--no-reboot']),
    )
  const kernel = await tsvmmBoot('kernel')
  const user = await tsvmmBoot('user')
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
  report({ kernel, user }, qemu)
}

function report(tsvmm, q) {
  const fq = bootFacts(q.log)
  const fmt = (b) => (b.toInit === undefined ? 'no /init' : `${b.toInit.toFixed(1)} s`)
  const sec = (x) => (x === undefined ? '-' : `${x.toFixed(1)} s`)
  // Where the time goes: before the first serial byte (the VMM's start-up, firmware), and the
  // kernel's own clock when /init ran (guest time, which runs with the wall clock).
  const uptime = (b) => {
    const m = /TSVMM-INIT uptime ([\d.]+)/.exec(b.log)
    return m ? Number(m[1]) : undefined
  }
  console.log(
    '\n== boot time, process start to /init (2 vCPUs, same kernel, initramfs, cmdline) ==',
  )
  console.log(
    `${''.padEnd(26)}${'to /init'.padStart(10)}   ${'1st byte'.padStart(8)}  ${'uptime'.padStart(8)}`,
  )
  const line = (name, b) =>
    console.log(
      `${name.padEnd(26)}${fmt(b).padStart(10)}   ${sec(b.toFirstOutput).padStart(8)}  ${sec(uptime(b)).padStart(8)}   attempts ${b.attempts}, exit ${b.code}`,
    )
  for (const [mode, b] of Object.entries(tsvmm)) line(`tsvmm (${mode} delivery)`, b)
  line('QEMU 10 (split irqchip)', q)
  const ratioOf = (b) =>
    b.toInit !== undefined && q.toInit !== undefined ? b.toInit / q.toInit : undefined
  for (const [mode, b] of Object.entries(tsvmm)) {
    const r = ratioOf(b)
    if (r !== undefined)
      console.log(`${`ratio tsvmm ${mode}/QEMU`.padEnd(26)}${r.toFixed(2)}x (target <= 1.0x)`)
  }
  const diff = (name, a, b) => {
    const onlyA = a.filter((x) => !b.includes(x))
    const onlyB = b.filter((x) => !a.includes(x))
    const tag = (x, expected) => (expected.some((r) => r.test(x)) ? '  (expected)' : '')
    console.log(`\n== ${name} ==`)
    for (const x of a.filter((x) => b.includes(x))) console.log(`  both   ${x}`)
    for (const x of onlyA) console.log(`  tsvmm  ${x}${tag(x, EXPECTED_TSVMM_ONLY)}`)
    for (const x of onlyB) console.log(`  QEMU   ${x}${tag(x, EXPECTED_QEMU_ONLY)}`)
  }
  for (const [mode, b] of Object.entries(tsvmm)) {
    const ft = bootFacts(b.log)
    diff(`Xen dmesg lines (numbers stripped), tsvmm ${mode} vs QEMU`, ft.xenLines, fq.xenLines)
    diff(
      `xen-* interrupt rows, tsvmm ${mode} vs QEMU`,
      xenInterruptNames(ft),
      xenInterruptNames(fq),
    )
  }
  const loc = (f) => f.interrupts.find((r) => r.irq === 'LOC')?.perCpu.join(' ') ?? '-'
  const facts = Object.entries(tsvmm).map(([mode, b]) => [mode, bootFacts(b.log)])
  console.log(
    `\nLOC (local APIC timer): ${facts.map(([m, f]) => `tsvmm ${m} ${loc(f)}`).join(', ')}, QEMU ${loc(fq)}`,
  )
  console.log(
    `problems (Oops/BUG/WARNING): ${facts.map(([m, f]) => `tsvmm ${m} ${f.problems.length}`).join(', ')}, QEMU ${fq.problems.length}`,
  )
  for (const p of [
    ...facts.flatMap(([m, f]) => f.problems.map((x) => `tsvmm ${m}: ${x}`)),
    ...fq.problems.map((x) => `QEMU: ${x}`),
  ])
    console.log(`  ${p}`)
  const dir = path.join(root, 'bench-results')
  mkdirSync(dir, { recursive: true })
  // The serial logs, to look at where a boot spent its time (dmesg's timestamps).
  for (const [name, b] of [
    ...Object.entries(tsvmm).map(([m, b]) => [`tsvmm-${m}`, b]),
    ['qemu', q],
  ])
    writeFileSync(path.join(dir, `linux-boot-${name}.log`), b.log)
  writeFileSync(
    path.join(dir, 'linux-boot.json'),
    Object.entries(tsvmm)
      .map(([mode, b]) => {
        const r = ratioOf(b)
        return `${JSON.stringify({
          benchmark: `linux-boot-to-init-${mode}`,
          unit: 's',
          tsvmm: b.toInit ?? null,
          baseline: q.toInit ?? null,
          baselineName: 'QEMU 10.0 -accel kvm,xen-version=0x4000a,kernel-irqchip=split',
          ratio: r ?? null,
          target: '<= 1.0',
          met: r === undefined ? null : r <= 1,
        })}\n`
      })
      .join(''),
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
