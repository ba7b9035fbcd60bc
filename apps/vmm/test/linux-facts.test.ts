import { describe, expect, it } from 'vitest'
// @ts-expect-error: a JavaScript module without type declarations
import { bootFacts, interruptRow, xenInterruptNames } from '../../../tools/linux-guest/facts.mjs'

// Pieces of a real tsvmm boot's serial log (Debian 6.12.95, 2 vCPUs, kernel delivery).
const LOG = `[    0.000000] Hypervisor detected: Xen HVM
[    4.792833] Booting paravirtualized kernel on Xen HVM
[   10.913423] xen:events: Using 2-level ABI
[   40.177333] installing Xen timer for CPU 1
[   40.177333] smp: Brought up 1 node, 2 CPUs
[   41.0] WARNING: CPU: 1 PID: 1 at somewhere
TSVMM-INIT uptime 29.40
TSVMM-CPUS 2
TSVMM-INTERRUPTS-BEGIN
           CPU0       CPU1       
  4:        114          0   IO-APIC   4-edge      ttyS0
 24:        143          0  xen-percpu    -virq      timer0
 30:          0        186  xen-percpu    -virq      timer1
 34:          0        227  xen-percpu    -ipi       callfuncsingle1
LOC:          0          0   Local timer interrupts
TSVMM-INTERRUPTS-END
TSVMM-DONE
`

describe('boot facts from a serial log', () => {
  const f = bootFacts(LOG)
  it('reads the markers, the CPU count and the Xen dmesg lines with numbers stripped', () => {
    expect(f).toMatchObject({ init: true, done: true, cpus: 2 })
    expect(f.xenLines).toContain('installing Xen timer for CPU N')
    expect(f.xenLines).toContain('smp: Brought up N node, N CPUs')
    expect(f.problems).toEqual(['WARNING: CPU: 1 PID: 1 at somewhere'])
  })
  it('parses /proc/interrupts rows per CPU column', () => {
    expect(interruptRow(f, 'timer1')).toEqual({
      irq: '30',
      perCpu: [0, 186],
      name: 'xen-percpu -virq timer1',
    })
    expect(f.interrupts.find((r: { irq: string }) => r.irq === 'LOC').perCpu).toEqual([0, 0])
    expect(xenInterruptNames(f)).toEqual([
      'xen-percpu -ipi callfuncsingleN',
      'xen-percpu -virq timerN',
    ])
  })
  it('reads the rows when a kernel line lands inside the report and eats the header', () => {
    // Seen in CI: the serial port carries dmesg too, so the header line can be lost or broken.
    const noisy = LOG.replace(
      '           CPU0       CPU1       \n',
      '[   52.1] random: crng reseeded           CPU0       CPU1\n[   52.2] another kernel line\n',
    )
    const g = bootFacts(noisy)
    expect(interruptRow(g, 'timer0')).toEqual({
      irq: '24',
      perCpu: [143, 0],
      name: 'xen-percpu -virq timer0',
    })
    expect(g.interrupts.map((r: { irq: string }) => r.irq)).toEqual(['4', '24', '30', '34', 'LOC'])
  })
  it('a log cut before the report is not done', () => {
    expect(bootFacts(LOG.slice(0, LOG.indexOf('TSVMM-INTERRUPTS-END')))).toMatchObject({
      done: false,
    })
  })
})
