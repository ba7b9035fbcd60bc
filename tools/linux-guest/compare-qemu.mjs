#!/usr/bin/env node
// pnpm compare:qemu [--rounds N]: tsvmm (kernel and user delivery) and QEMU 10 boot the same
// Debian kernel, initramfs and command line as a Xen HVM guest with 2 vCPUs, taking turns inside
// the same emulated KVM host for N rounds (default 3: one nested boot's time varies by tens of
// percent), and this prints the median boot times (process start to the /init marker) with each
// round's, and the diff of the Xen facts: the Xen dmesg lines with numbers stripped, and the
// names of the xen-* interrupt rows. It also writes bench-results/linux-boot.json (target: tsvmm
// at most 1.0x QEMU's median) and each one's serial log.
// QEMU runs as the issue and shared/nested-kvm/l2xen say: -accel kvm,xen-version=0x4000a,
// kernel-irqchip=split -machine pc -cpu qemu64 -smp 2 -m 512 -nodefaults -serial stdio -no-reboot.
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { tsvmmLinuxArgs, bootUntilDone as untilDone } from './boot.mjs'
import { bootFacts, xenInterruptNames } from './facts.mjs'
import { linuxGuest } from './index.mjs'
import { pvBootOptions, reportPv } from './pv-figures.mjs'
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
const EXPECTED_TSVMM_ONLY = [
  /platform_pci_unplug: Xen Platform PCI: unrecognised magic/i,
  // tsvmm's ACPI tables name themselves TSVMMXEN (QEMU's say BOCHS, not matched as Xen lines).
  /^ACPI: \w+ .*TSVMMXEN/,
  // tsvmm always gives the guest a PV console; QEMU with -nodefaults has none.
  /hvc_console/,
]

function kvmUsable() {
  try {
    closeSync(openSync('/dev/kvm', 'r+'))
    return true
  } catch {
    return false
  }
}

/** What a failed attempt left: the last lines of its serial log and of the VMM's stderr. */
function lastLines(b) {
  const tail = (t, n) =>
    t
      .trimEnd()
      .split('\n')
      .slice(-n)
      .map((l) => `  | ${l}`)
  return [...tail(b.log, 6), ...tail(b.stderr ?? '', 4)].join('\n')
}

/** Boots until the /init report is complete, saying so for each attempt that is not. */
function bootUntilDone(name, cmd, args, env) {
  return untilDone(cmd, args, {
    env,
    onAttempt: (b) => {
      if (!b.facts.done)
        console.error(
          `compare:qemu: ${name} attempt ${b.attempts} did not finish its /init report (exit ${b.code}); its last lines:\n${lastLines(b)}`,
        )
    },
  })
}

/** Rounds of the three boots: boot times under TCG vary by tens of percent from run to run. */
const ROUNDS = (() => {
  const at = process.argv.indexOf('--rounds')
  const n = at < 0 ? 3 : Number(process.argv[at + 1])
  // 0: only the PV device round.
  if (!Number.isInteger(n) || n < 0) throw new Error('--rounds takes a whole number >= 0')
  return n
})()

/** The median of the boots' times to /init (boots without one are left out), or undefined. */
function medianToInit(boots) {
  const t = boots
    .map((b) => b.toInit)
    .filter((x) => x !== undefined)
    .sort((a, b) => a - b)
  if (t.length === 0) return undefined
  const mid = t.length >> 1
  return t.length % 2 ? t[mid] : (t[mid - 1] + t[mid]) / 2
}

async function inside() {
  const g = await linuxGuest()
  const q = ensureQemu10()
  const tsvmmBoot = (delivery) => () =>
    bootUntilDone(
      `tsvmm ${delivery}`,
      process.execPath,
      tsvmmLinuxArgs(TSVMM, g, delivery, ['--no-reboot']),
    )
  /** QEMU's arguments; `extra` adds devices, `cmdline` replaces the guest's. */
  const qemuArgs = (extra = [], cmdline = g.cmdline) => [
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
    cmdline,
    ...extra,
  ]
  const qemuEnv = { ...process.env, QEMU_MODULE_DIR: q.modules }
  const qemuBoot = () => bootUntilDone('QEMU 10', q.loader, qemuArgs(), qemuEnv)
  // The three take turns, each round starting with the next one, so that whatever else the
  // machine does weighs on all three alike.
  const order = [
    ['kernel', tsvmmBoot('kernel')],
    ['user', tsvmmBoot('user')],
    ['qemu', qemuBoot],
  ]
  /** @type {Record<string, any[]>} */
  const boots = { kernel: [], user: [], qemu: [] }
  for (let r = 0; r < ROUNDS; r++)
    for (let i = 0; i < order.length; i++) {
      const [name, boot] = order[(r + i) % order.length]
      boots[name].push(await boot())
    }
  if (ROUNDS > 0) report(boots)
  await pvRound(g, q, qemuArgs, qemuEnv)
}

/**
 * The PV device round (pv-figures.mjs): one boot each with the guest's pvbench, QEMU with its
 * primary Xen console (xen-console on a null chardev) as tsvmm always has one.
 */
async function pvRound(g, q, qemuArgs, qemuEnv) {
  const cmdline = `${g.cmdline} tsvmm.bench tsvmm.wait`
  const guestBytes = 512 * 2 ** 20
  /** @type {Record<string, any>} */
  const boots = {}
  /** @type {Record<string, any>} */
  const memory = {}
  const runs = [
    ...['kernel', 'user'].map((d) => [
      `tsvmm (${d} delivery)`,
      process.execPath,
      tsvmmLinuxArgs(TSVMM, { ...g, cmdline }, d, ['--no-reboot']),
      process.env,
    ]),
    [
      'QEMU 10 (xen-console)',
      q.loader,
      qemuArgs(['-chardev', 'null,id=hvc0', '-device', 'xen-console,chardev=hvc0'], cmdline),
      qemuEnv,
    ],
  ]
  for (const [who, cmd, args, env] of runs) {
    const o = pvBootOptions(guestBytes)
    boots[who] = await untilDone(cmd, args, {
      env,
      complete: o.complete,
      onLog: o.onLog,
      onAttempt: (b) => {
        if (!o.complete(b))
          console.error(
            `compare:qemu: ${who} PV attempt ${b.attempts} did not finish (exit ${b.code}); its last lines:\n${lastLines(b)}`,
          )
      },
    })
    memory[who] = o.sample.memory
  }
  const rows = reportPv(boots, memory)
  const dir = path.join(root, 'bench-results')
  mkdirSync(dir, { recursive: true })
  // The serial logs (with hvc0's output, for tsvmm), named linux-pv-<kernel|user|qemu>.log.
  for (const [who, b] of Object.entries(boots))
    writeFileSync(
      path.join(dir, `linux-pv-${/kernel|user|QEMU/.exec(who)?.[0].toLowerCase()}.log`),
      b.log,
    )
  writeFileSync(path.join(dir, 'linux-pv.json'), `${JSON.stringify(rows, null, 2)}\n`)
}

/** The last boot that finished its /init report (its facts are the ones compared), or the last. */
const lastDone = (boots) => boots.findLast((b) => b.facts.done) ?? boots.at(-1)

/** @param {Record<'kernel' | 'user' | 'qemu', any[]>} boots every round's boot of each */
function report(boots) {
  const sec = (x) => (x === undefined ? '-' : `${x.toFixed(1)} s`)
  // Where the time goes: before the first serial byte (the VMM's start-up, firmware), and the
  // guest's own uptime when /init ran.
  const uptime = (b) => {
    const m = /TSVMM-INIT uptime ([\d.]+)/.exec(b.log)
    return m ? Number(m[1]) : undefined
  }
  const names = {
    kernel: 'tsvmm (kernel delivery)',
    user: 'tsvmm (user delivery)',
    qemu: 'QEMU 10 (split irqchip)',
  }
  console.log(
    `\n== boot time, process start to /init (2 vCPUs, same kernel, initramfs, cmdline; ${ROUNDS} round(s), turns rotated) ==`,
  )
  console.log(
    `${''.padEnd(26)}${'median'.padStart(8)}   each round: to /init (1st serial byte, guest uptime at /init)`,
  )
  const median = {}
  for (const [who, list] of Object.entries(boots)) {
    median[who] = medianToInit(list)
    const each = list
      .map(
        (b) =>
          `${b.toInit === undefined ? 'no /init' : sec(b.toInit)} (${sec(b.toFirstOutput)}, ${sec(uptime(b))})${b.attempts > 1 ? ` ${b.attempts} attempts` : ''}`,
      )
      .join(', ')
    console.log(`${names[who].padEnd(26)}${sec(median[who]).padStart(8)}   ${each}`)
  }
  const ratioOf = (who) =>
    median[who] !== undefined && median.qemu !== undefined ? median[who] / median.qemu : undefined
  for (const who of ['kernel', 'user']) {
    const r = ratioOf(who)
    if (r !== undefined)
      console.log(`${`ratio tsvmm ${who}/QEMU`.padEnd(26)}${r.toFixed(2)}x (target <= 1.0x)`)
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
  const fq = bootFacts(lastDone(boots.qemu).log)
  const facts = ['kernel', 'user'].map((m) => [m, bootFacts(lastDone(boots[m]).log)])
  for (const [mode, ft] of facts) {
    diff(`Xen dmesg lines (numbers stripped), tsvmm ${mode} vs QEMU`, ft.xenLines, fq.xenLines)
    diff(
      `xen-* interrupt rows, tsvmm ${mode} vs QEMU`,
      xenInterruptNames(ft),
      xenInterruptNames(fq),
    )
  }
  const loc = (f) => f.interrupts.find((r) => r.irq === 'LOC')?.perCpu.join(' ') ?? '-'
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
  const attempts = Object.values(boots).flat()
  const retried = attempts.reduce((n, b) => n + b.attempts - 1, 0)
  console.log(`flake: ${retried} retried attempt(s) over ${attempts.length} boots`)
  const dir = path.join(root, 'bench-results')
  mkdirSync(dir, { recursive: true })
  // The serial logs, to look at where a boot spent its time (dmesg's timestamps).
  for (const [who, list] of Object.entries(boots))
    writeFileSync(path.join(dir, `linux-boot-${who}.log`), lastDone(list).log)
  writeFileSync(
    path.join(dir, 'linux-boot.json'),
    ['kernel', 'user']
      .map((mode) => {
        const r = ratioOf(mode)
        return `${JSON.stringify({
          benchmark: `linux-boot-to-init-${mode}`,
          unit: 's',
          tsvmm: median[mode] ?? null,
          baseline: median.qemu ?? null,
          baselineName: 'QEMU 10.0 -accel kvm,xen-version=0x4000a,kernel-irqchip=split',
          rounds: ROUNDS,
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
      String(1200 * ROUNDS + 1800),
      '--',
      process.execPath,
      path.join(here, 'compare-qemu.mjs'),
      '--inside',
      '--rounds',
      String(ROUNDS),
    ],
    { cwd: root, stdio: 'inherit' },
  )
  process.exit(r.status ?? 1)
}
