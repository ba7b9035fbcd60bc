// How a run's stop and its counters become the exit code: a power-off passes only with no failed
// check, and a tsvmm bug inside a hypercall handler never passes.

import { SHUTDOWN } from '@tsvmm/xen-evtchn'
import { describe, expect, it } from 'vitest'
import { EXIT } from '../src/errors.js'
import { guestShutdownStop, runVerdict } from '../src/stop-reasons.js'

const poweroff = guestShutdownStop(SHUTDOWN.poweroff, 0)
const crash = guestShutdownStop(SHUTDOWN.crash, 1)

describe('runVerdict', () => {
  it('a power-off with every check passed exits 0', () => {
    expect(runVerdict(poweroff, 0, 0)).toEqual({ exitCode: EXIT.OK, message: poweroff.message })
  })

  it('a power-off with failed checks exits 1 and says how many', () => {
    expect(runVerdict(poweroff, 1, 0)).toEqual({
      exitCode: EXIT.GUEST_FAILED,
      message: 'the guest powered off (vCPU 0); 1 check(s) failed',
    })
    expect(runVerdict(poweroff, 7, 0).exitCode).toBe(EXIT.GUEST_FAILED)
  })

  it('a crash exits 1 with or without failed checks', () => {
    expect(runVerdict(crash, 0, 0)).toEqual({ exitCode: EXIT.GUEST_FAILED, message: crash.message })
    expect(runVerdict(crash, 2, 0).exitCode).toBe(EXIT.GUEST_FAILED)
  })

  it('a tsvmm bug in a hypercall handler makes a passing or failing run exit 70', () => {
    expect(runVerdict(poweroff, 0, 1)).toEqual({
      exitCode: EXIT.INTERNAL,
      message: 'the guest powered off (vCPU 0); 1 tsvmm bug(s) in hypercall handlers',
    })
    expect(runVerdict(poweroff, 3, 2).exitCode).toBe(EXIT.INTERNAL)
    expect(runVerdict(crash, 0, 1).exitCode).toBe(EXIT.INTERNAL)
  })

  it('a VM failure or a signal keeps its own exit code, and still reports the bugs', () => {
    const timeout = { reason: 'timeout' as const, message: 'too slow', exitCode: EXIT.VM_FAILED }
    expect(runVerdict(timeout, 4, 1)).toEqual({
      exitCode: EXIT.VM_FAILED,
      message: 'too slow; 1 tsvmm bug(s) in hypercall handlers',
    })
    const sig = { reason: 'signal' as const, message: 'stopped by SIGINT', exitCode: EXIT.SIGINT }
    expect(runVerdict(sig, 0, 0).exitCode).toBe(EXIT.SIGINT)
  })
})
