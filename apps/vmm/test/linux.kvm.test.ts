// The unmodified Debian cloud kernel (the one tools/kvm-host boots, located through its own
// kernel module) as a Xen HVM guest of tsvmm on 2 vCPUs, in both delivery modes, with the busybox
// initramfs of tools/linux-guest. Everything is decided from the serial log's markers
// (tools/linux-guest/checks.mjs, which `tsvmm demo` counts too); a boot that hangs (no /init
// report before the bound) is retried (at most 3 retries), and every attempt is written to
// test-results/linux-boots.json so the flake rate is on record.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
// @ts-expect-error: a JavaScript module without type declarations
import * as linuxBoot from '../../../tools/linux-guest/boot.mjs'
// @ts-expect-error: a JavaScript module without type declarations
import { linuxChecks } from '../../../tools/linux-guest/checks.mjs'
// @ts-expect-error: a JavaScript module without type declarations
import { linuxGuest } from '../../../tools/linux-guest/index.mjs'
import { MAIN } from './tsvmm-child.js'

const { ATTEMPTS, BOOT_TIMEOUT_MS, bootUntilDone, tsvmmLinuxArgs } = linuxBoot

interface Boot {
  code: number | null
  log: string
  stderr: string
  facts: { done: boolean; init: boolean; interrupts: Row[]; problems: string[] }
  seconds: number
  toInit: number | undefined
  attempts: number
}
interface Check {
  name: string
  passed: boolean
  message: string
}
const RESULTS = fileURLToPath(new URL('../../../test-results/', import.meta.url))
/** The domain's uuid the boots are given (/sys/hypervisor/uuid must say it back). */
const UUID = '6b1d2c0e-7a41-4c55-9e0f-2b8d3a4c5e6f'
/** The line tools/linux-guest/init.sh writes to hvc0 after 'TSVMM-HVC '. */
const HVC_LINE = 'hvc0 byte for byte: 0123456789 ~!@#%^&*()_+{}|:<>?[];,./'
/** What /init prints once it waits for tsvmm's shutdown request (with tsvmm.wait). */
const WAITING = /^TSVMM-WAITING\r?$/m

interface Row {
  irq: string
  perCpu: number[]
  name: string
}

let guest: { vmlinuz: string; initramfs: string; cmdline: string; release: string }

beforeAll(async () => {
  guest = await linuxGuest()
}, 600_000)

/** What a boot adds to the test boot: command line words, a log watcher, when it is complete. */
interface BootExtra {
  cmdline?: string
  onLog?: (log: string, kill: (sig: NodeJS.Signals) => void) => void
  complete?: (b: Boot) => boolean
}

/** Boots until the /init report is complete, keeping every attempt on record. */
function boot(delivery: 'kernel' | 'user', extra: BootExtra = {}): Promise<Boot> {
  const timeout = String(BOOT_TIMEOUT_MS / 1000)
  // A console= of the boot's own replaces the test boot's: with both ttyS0 and hvc0 the kernel
  // writes to each, and the two streams interleave mid-line on tsvmm's stdout.
  const base = /\bconsole=/.test(extra.cmdline ?? '')
    ? guest.cmdline.replace(/\s*\bconsole=\S+/g, '')
    : guest.cmdline
  const g = extra.cmdline === undefined ? guest : { ...guest, cmdline: `${base} ${extra.cmdline}` }
  return bootUntilDone(
    process.execPath,
    tsvmmLinuxArgs(MAIN, g, delivery, ['--timeout', timeout, '--uuid', UUID]),
    {
      ...(extra.onLog !== undefined && { onLog: extra.onLog }),
      ...(extra.complete !== undefined && { complete: extra.complete }),
      onAttempt: (b: Boot) => {
        const end = b.stderr.trim().split('\n').at(-1)
        mkdirSync(RESULTS, { recursive: true })
        appendFileSync(
          `${RESULTS}linux-boots.json`,
          `${JSON.stringify({ delivery, attempt: b.attempts, code: b.code, init: b.facts.init, done: b.facts.done, seconds: b.seconds, toInitSeconds: b.toInit, end })}\n`,
        )
        if (extra.complete?.(b) ?? b.facts.done) return
        // Keep what a failed attempt printed, to tell a nested-host hang from a tsvmm bug.
        writeFileSync(
          `${RESULTS}linux-${delivery}-attempt${b.attempts}.log`,
          `${b.log}\n${b.stderr}`,
        )
        console.warn(
          `linux ${delivery} attempt ${b.attempts}: no complete /init report (exit ${b.code}): ${end}`,
        )
      },
    },
  )
}

/**
 * How each mode's boot ends. One boot per mode keeps the suite inside CI's budget (a nested boot
 * takes a minute or more under TCG), so the two ways to stop are split between the modes:
 * kernel delivery's /init runs `poweroff -f`; user delivery's /init waits (tsvmm.wait) with hvc0
 * as its console until tsvmm, on SIGTERM, writes control/shutdown = poweroff and Linux's xenbus
 * shutdown watcher powers it off, as `xl shutdown` would.
 */
const ENDING = {
  kernel: { how: 'poweroff -f', extra: {} },
  user: {
    how: 'SIGTERM, then the xenbus shutdown watcher',
    extra: sigtermWhenWaiting('tsvmm.wait=1 console=hvc0'),
  },
} as const
/** Waits with `cmdline`; once the guest says it waits, SIGTERM; complete once it waited. */
function sigtermWhenWaiting(cmdline: string): BootExtra {
  let signalled = false
  return {
    cmdline,
    onLog: (log, kill) => {
      if (!signalled && WAITING.test(log)) {
        signalled = true
        kill('SIGTERM')
      }
    },
    complete: (b) => {
      // Asked at the end of each attempt: a retried boot gets its own SIGTERM.
      signalled = false
      return b.facts.done && WAITING.test(b.log)
    },
  }
}

describe.each(['kernel', 'user'] as const)('Linux as a Xen HVM guest, %s delivery', (delivery) => {
  let b: Boot
  let checks: Check[]
  beforeAll(
    async () => {
      b = await boot(delivery, ENDING[delivery].extra)
      checks = linuxChecks(b)
      console.log(
        `linux ${delivery}: exit ${b.code} after ${b.attempts} attempt(s), /init at ${b.toInit?.toFixed(1)} s, total ${b.seconds.toFixed(1)} s`,
      )
    },
    ATTEMPTS * (BOOT_TIMEOUT_MS + 30_000),
  )
  // Every check that failed, with what was seen (the log's tail when the boot did not finish).
  const failed = (match: RegExp) =>
    checks.filter((c) => match.test(c.name) && !c.passed).map((c) => `${c.name}: ${c.message}`)
  const expectPassed = (match: RegExp) => {
    expect(checks.filter((c) => match.test(c.name)).length).toBeGreaterThan(0)
    expect(failed(match), b.facts.done ? '' : b.log.slice(-3000) + b.stderr).toEqual([])
  }

  it(`reaches /init on 2 CPUs and powers off through ACPI S5 (exit 0) by ${ENDING[delivery].how}`, () => {
    expectPassed(/^\/init runs|^powers off/)
  })

  it('dmesg: Xen HVM detected, callback vector, 2-level events, Xen timers and clocksource, SMP', () => {
    expectPassed(/^dmesg: /)
  })

  it('/proc/interrupts: Xen timers per CPU, resched and callfuncsingle IPIs, no LAPIC timer', () => {
    expectPassed(/^timer[01]|IPIs arrive|^LOC/)
  })

  it('no Oops, BUG, WARNING or panic', () => {
    expectPassed(/^no Oops/)
  })

  it('xenbus: /proc/interrupts has the xenbus event channel, /sys/hypervisor/uuid is --uuid', () => {
    const xenbus = b.facts.interrupts.find((r) => /\sxenbus$/.test(r.name))
    expect(xenbus?.name, b.log.slice(-3000)).toMatch(/xen-dyn\s+-event\s+xenbus/)
    expect(b.log).toMatch(new RegExp(`^TSVMM-UUID ${UUID}\r?$`, 'm'))
  })

  it('PV console: a line written to hvc0 comes out of tsvmm byte for byte; hvc_console row', () => {
    expect(b.log).toContain(`\nTSVMM-HVC ${HVC_LINE}\n`)
    const hvc = b.facts.interrupts.find((r) => /hvc_console/.test(r.name))
    expect(hvc?.name, b.log.slice(-3000)).toMatch(/xen-dyn(-lateeoi)?\s+-event\s+hvc_console/)
  })

  if (delivery === 'user')
    it('SIGTERM: the xenbus shutdown watcher powers the guest off (exit 0), console=hvc0', () => {
      expect(b.log, b.log.slice(-3000) + b.stderr).toMatch(WAITING)
      // The guest's own path: the watcher ran /sbin/poweroff, which signalled /init.
      expect(b.log, b.log.slice(-2000) + b.stderr).toMatch(/^TSVMM-SHUTDOWN-REQUESTED\r?$/m)
      expect(b.stderr).toMatch(/powered off \(ACPI S5/)
      expect(b.code).toBe(0)
    })
})
