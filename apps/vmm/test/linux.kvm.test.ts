// The unmodified Debian cloud kernel (the one tools/kvm-host boots, located through its own
// kernel module) as a Xen HVM guest of tsvmm on 2 vCPUs, in both delivery modes, with the busybox
// initramfs of tools/linux-guest. Everything is decided from the serial log's markers; a boot
// that hangs (no /init report before the bound) is retried, at most 3 times, and every attempt
// is written to test-results/linux-boots.json so the flake rate is on record.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error: a JavaScript module without type declarations
import { bootFacts, interruptRow } from '../../../tools/linux-guest/facts.mjs'
// @ts-expect-error: a JavaScript module without type declarations
import { linuxGuest } from '../../../tools/linux-guest/index.mjs'
import { tsvmm } from './tsvmm-child.js'

interface Row {
  irq: string
  perCpu: number[]
  name: string
}
interface Facts {
  init: boolean
  done: boolean
  cpus: number | undefined
  dmesg: string[]
  xenLines: string[]
  interrupts: Row[]
  problems: string[]
}
const facts = bootFacts as (log: string) => Facts
const row = interruptRow as (f: Facts, suffix: string) => Row | undefined

/**
 * One boot's bound. The emulated host runs the nested guest slowly, and slower still when other
 * emulated hosts share the machine's cores, so a hang is told from a slow boot by the serial
 * line going quiet for HANG_QUIET_S, and the whole boot has a generous bound.
 */
const BOOT_TIMEOUT_S = 900
const HANG_QUIET_S = 180
const ATTEMPTS = 3
const RESULTS = fileURLToPath(new URL('../../../test-results/', import.meta.url))

let guest: { vmlinuz: string; initramfs: string; cmdline: string; release: string }

beforeAll(async () => {
  guest = await linuxGuest()
}, 600_000)

interface Boot {
  code: number | null
  log: string
  stderr: string
  facts: Facts
  seconds: number
  toInitSeconds: number | undefined
  attempts: number
}

/** The domain's uuid the boots are given (/sys/hypervisor/uuid must say it back). */
const UUID = '6b1d2c0e-7a41-4c55-9e0f-2b8d3a4c5e6f'

/** The line tools/linux-guest/init.sh writes to hvc0 after 'TSVMM-HVC '. */
const HVC_LINE = 'hvc0 byte for byte: 0123456789 ~!@#%^&*()_+{}|:<>?[];,./'

/** What a boot adds: to the command line, and what to do when the guest prints something. */
interface BootExtra {
  cmdline?: string
  /** Sees the serial log so far; may signal tsvmm. */
  onText?: (text: string, kill: (sig: NodeJS.Signals) => void) => void
  /** The boot is complete (else retried as a hang); default: the /init report is done. */
  complete?: (b: { code: number | null; facts: Facts; log: string }) => boolean
}

/** Boots until the /init report is complete, at most ATTEMPTS times. */
async function boot(delivery: 'kernel' | 'user', extra: BootExtra = {}): Promise<Boot> {
  let last: Boot | undefined
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const started = Date.now()
    let toInit: number | undefined
    let lastOutput = Date.now()
    let stopChild: ((sig: NodeJS.Signals) => void) | undefined
    const watch = setInterval(() => {
      if (Date.now() - lastOutput > HANG_QUIET_S * 1000) stopChild?.('SIGTERM')
    }, 5000)
    const run = await tsvmm(
      [
        'run',
        '--kernel',
        guest.vmlinuz,
        '--initrd',
        guest.initramfs,
        '--cmdline',
        `${guest.cmdline}${extra.cmdline === undefined ? '' : ` ${extra.cmdline}`}`,
        '--uuid',
        UUID,
        '--vcpus',
        '2',
        '--memory',
        '512M',
        '--delivery',
        delivery,
        '--timeout',
        String(BOOT_TIMEOUT_S),
      ],
      {
        onStdout: (text, kill) => {
          lastOutput = Date.now()
          stopChild = kill
          if (toInit === undefined && text.includes('TSVMM-INIT '))
            toInit = (Date.now() - started) / 1000
          extra.onText?.(text, kill)
        },
      },
    )
    clearInterval(watch)
    const f = facts(run.stdout)
    last = {
      code: run.code,
      log: run.stdout,
      stderr: run.stderr,
      facts: f,
      seconds: (Date.now() - started) / 1000,
      toInitSeconds: toInit,
      attempts: attempt,
    }
    mkdirSync(RESULTS, { recursive: true })
    appendFileSync(
      `${RESULTS}linux-boots.json`,
      `${JSON.stringify({ delivery, attempt, code: run.code, init: f.init, done: f.done, seconds: last.seconds, toInitSeconds: toInit, end: run.stderr.trim().split('\n').at(-1) })}\n`,
    )
    // A hang (no complete report) is retried; anything else is the answer.
    if (extra.complete?.({ code: run.code, facts: f, log: run.stdout }) ?? f.done) return last
    // Keep what a failed attempt printed, to tell a nested-host hang from a tsvmm bug.
    writeFileSync(
      `${RESULTS}linux-${delivery}-attempt${attempt}.log`,
      `${run.stdout}\n${run.stderr}`,
    )
    console.warn(
      `linux ${delivery} attempt ${attempt}: no complete /init report (exit ${run.code}): ${run.stderr.trim().split('\n').at(-1)}`,
    )
  }
  return last as Boot
}

describe.each(['kernel', 'user'] as const)('Linux as a Xen HVM guest, %s delivery', (delivery) => {
  let b: Boot
  beforeAll(
    async () => {
      b = await boot(delivery)
      console.log(
        `linux ${delivery}: exit ${b.code} after ${b.attempts} attempt(s), /init at ${b.toInitSeconds?.toFixed(1)} s, total ${b.seconds.toFixed(1)} s`,
      )
    },
    ATTEMPTS * (BOOT_TIMEOUT_S + 30) * 1000,
  )

  it('reaches /init on 2 CPUs and powers off through ACPI S5 (exit 0)', () => {
    expect(b.facts.done, b.log.slice(-3000) + b.stderr).toBe(true)
    expect(b.facts.cpus).toBe(2)
    expect(b.stderr).toMatch(/powered off \(ACPI S5/)
    expect(b.code).toBe(0)
  })

  it('dmesg: Xen HVM detected, callback vector, 2-level events, Xen timers and clocksource, SMP', () => {
    const d = b.facts.dmesg.join('\n')
    for (const line of [
      'Hypervisor detected: Xen HVM',
      'Booting paravirtualized kernel on Xen HVM',
      'xen:events: Using 2-level ABI',
      'Xen HVM callback vector for event delivery is enabled',
      'installing Xen timer for CPU 0',
      'installing Xen timer for CPU 1',
      'clocksource: Switched to clocksource xen',
      'smp: Brought up 1 node, 2 CPUs',
    ])
      expect(d, line).toContain(line)
  })

  it('/proc/interrupts: Xen timers per CPU, resched and callfuncsingle IPIs, no LAPIC timer', () => {
    const timer0 = row(b.facts, 'timer0')
    const timer1 = row(b.facts, 'timer1')
    expect(timer0?.name).toMatch(/xen-percpu\s+-virq\s+timer0/)
    expect(timer0?.perCpu[0]).toBeGreaterThan(0)
    expect(timer1?.perCpu[1]).toBeGreaterThan(0)
    const sum = (r: Row | undefined) => (r?.perCpu ?? []).reduce((a, x) => a + x, 0)
    expect(sum(row(b.facts, 'resched0')) + sum(row(b.facts, 'resched1'))).toBeGreaterThan(0)
    expect(
      sum(row(b.facts, 'callfuncsingle0')) + sum(row(b.facts, 'callfuncsingle1')),
    ).toBeGreaterThan(0)
    const loc = b.facts.interrupts.find((r) => r.irq === 'LOC')
    // "about 0": the local APIC timer may tick during early boot, before the Xen timer.
    expect(sum(loc)).toBeLessThan(100)
  })

  it('xenbus: /proc/interrupts has the xenbus event channel, /sys/hypervisor/uuid is --uuid', () => {
    const xenbus = row(b.facts, 'xenbus')
    expect(xenbus?.name, b.log.slice(-3000)).toMatch(/xen-dyn\s+-event\s+xenbus/)
    expect(b.log).toMatch(new RegExp(`^TSVMM-UUID ${UUID}$`, 'm'))
  })

  it('PV console: a line written to hvc0 comes out of tsvmm byte for byte; hvc_console row', () => {
    expect(b.log).toContain(`\nTSVMM-HVC ${HVC_LINE}\n`)
    const hvc = b.facts.interrupts.find((r) => /hvc_console/.test(r.name))
    expect(hvc?.name, b.log.slice(-3000)).toMatch(/xen-dyn(-lateeoi)?\s+-event\s+hvc_console/)
  })

  it('no Oops, BUG, WARNING or panic', () => {
    expect(b.facts.problems).toEqual([])
  })
})

describe.each(['kernel', 'user'] as const)('Linux shut down by tsvmm, %s delivery', (delivery) => {
  let b: Boot
  beforeAll(
    async () => {
      let signalled = false
      b = await boot(delivery, {
        // /dev/console is hvc0: the markers below come through the PV console.
        cmdline: 'tsvmm.wait=1 console=hvc0',
        // Once the guest waits, SIGTERM: tsvmm writes control/shutdown = poweroff.
        onText: (text, kill) => {
          if (!signalled && /^TSVMM-WAITING\r?$/m.test(text)) {
            signalled = true
            kill('SIGTERM')
          }
        },
        complete: (r) => /^TSVMM-WAITING\r?$/m.test(r.log),
      })
      console.log(`linux ${delivery} SIGTERM: exit ${b.code} after ${b.seconds.toFixed(1)} s`)
    },
    ATTEMPTS * (BOOT_TIMEOUT_S + 30) * 1000,
  )

  it('SIGTERM: the xenbus shutdown watcher powers the guest off (exit 0), console=hvc0', () => {
    expect(b.log, b.stderr).toMatch(/^TSVMM-WAITING\r?$/m)
    // The guest's own path: the watcher ran /sbin/poweroff, which signalled /init.
    expect(b.log, b.log.slice(-2000) + b.stderr).toMatch(/^TSVMM-SHUTDOWN-REQUESTED\r?$/m)
    expect(b.stderr).toMatch(/powered off \(ACPI S5/)
    expect(b.code).toBe(0)
    expect(b.facts.problems).toEqual([])
  })
})
