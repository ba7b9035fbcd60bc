// What a Linux boot as a Xen HVM guest must show (issue 13, from QEMU 10's run of the same
// kernel in shared/nested-kvm/l2xen), as named checks: the KVM suite asserts them and `tsvmm demo`
// counts them. Decided from the serial log only.
import { interruptRow } from './facts.mjs'

/** dmesg lines every boot must have. */
export const REQUIRED_DMESG = [
  'Hypervisor detected: Xen HVM',
  'Booting paravirtualized kernel on Xen HVM',
  'xen:events: Using 2-level ABI',
  'Xen HVM callback vector for event delivery is enabled',
  'installing Xen timer for CPU 0',
  'installing Xen timer for CPU 1',
  'clocksource: Switched to clocksource xen',
  'smp: Brought up 1 node, 2 CPUs',
]

/**
 * @typedef {object} LinuxCheck
 * @property {string} name
 * @property {boolean} passed
 * @property {string} message what was seen, when it failed
 */

/**
 * The checks of one boot.
 * @param {import('./boot.mjs').Boot} boot
 * @returns {LinuxCheck[]}
 */
export function linuxChecks(boot) {
  const f = boot.facts
  /** @type {LinuxCheck[]} */
  const out = []
  const check = (/** @type {string} */ name, /** @type {boolean} */ passed, message = '') =>
    out.push({ name, passed, message: passed ? '' : message })
  const sum = (/** @type {{ perCpu: number[] } | undefined} */ r) =>
    (r?.perCpu ?? []).reduce((a, x) => a + x, 0)
  const end = boot.stderr.trim().split('\n').at(-1) ?? ''

  check('/init runs on 2 CPUs', f.done && f.cpus === 2, `done ${f.done}, CPUs ${f.cpus}`)
  const dmesg = f.dmesg.join('\n')
  for (const line of REQUIRED_DMESG) check(`dmesg: ${line}`, dmesg.includes(line), 'missing')
  const timer0 = interruptRow(f, 'timer0')
  const timer1 = interruptRow(f, 'timer1')
  check(
    'timer0: xen-percpu VIRQ_TIMER ticks on CPU 0',
    /xen-percpu\s+-virq\s+timer0/.test(timer0?.name ?? '') && (timer0?.perCpu[0] ?? 0) > 0,
    JSON.stringify(timer0),
  )
  check(
    'timer1: xen-percpu VIRQ_TIMER ticks on CPU 1',
    (timer1?.perCpu[1] ?? 0) > 0,
    JSON.stringify(timer1),
  )
  const ipis = (/** @type {string} */ name) =>
    sum(interruptRow(f, `${name}0`)) + sum(interruptRow(f, `${name}1`))
  check('resched IPIs arrive', ipis('resched') > 0, `${ipis('resched')}`)
  check('callfuncsingle IPIs arrive', ipis('callfuncsingle') > 0, `${ipis('callfuncsingle')}`)
  // "about 0": the local APIC timer may tick during early boot, before the Xen timer.
  const loc = sum(f.interrupts.find((r) => r.irq === 'LOC'))
  check('LOC (local APIC timer) about 0', loc < 100, `LOC ${loc}`)
  check('no Oops, BUG, WARNING or panic', f.problems.length === 0, f.problems.join(' | '))
  check(
    'powers off through ACPI S5 (exit 0)',
    boot.code === 0 && /powered off \(ACPI S5/.test(boot.stderr),
    `exit ${boot.code}: ${end}`,
  )
  return out
}
