// VIRQ_TIMER: singleshot timers of set_timer_op and VCPUOP_set_singleshot_timer, the periodic
// timer, on a manual clock.
import { describe, expect, it } from 'vitest'
import { monotonicClock, VCPUOP, VIRQ } from '../src/index.js'
import { ARG, evtchnOp, type Guest, makeGuest } from './helpers.js'

const EINVAL = -22

function bindTimer(g: Guest, vcpu: number): number {
  const r = evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu })
  expect(r.rc).toBe(0)
  return r.out('port')
}

function singleshot(g: Guest, vcpu: number, at: bigint, flags = 0, caller = vcpu): number {
  g.memory.writeU64(ARG, at)
  g.memory.writeU32(ARG + 8, flags)
  return g.engine.vcpuOp(VCPUOP.set_singleshot_timer, vcpu, ARG, caller)
}

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('timers, %s guest', (_, longMode) => {
  it('set_timer_op fires VIRQ_TIMER on the vCPU at the deadline, once', () => {
    const g = makeGuest(longMode)
    const port = bindTimer(g, 1)
    g.clock.time = 1000
    expect(g.engine.setTimerOp(1, 5000n)).toBe(0)
    g.clock.advance(3999)
    expect(g.view.pending(port)).toBe(false)
    g.clock.advance(1)
    expect(g.view.pending(port)).toBe(true)
    expect(g.notified).toEqual([1])
    g.view.clearPending(port)
    g.clock.advance(1_000_000)
    expect(g.view.pending(port)).toBe(false)
  })

  it('set_timer_op(0) stops the timer; a new deadline replaces the old', () => {
    const g = makeGuest(longMode)
    const port = bindTimer(g, 0)
    g.engine.setTimerOp(0, 100)
    g.engine.setTimerOp(0, 0)
    g.clock.advance(1000)
    expect(g.view.pending(port)).toBe(false)
    g.engine.setTimerOp(0, 5000)
    g.engine.setTimerOp(0, 3000)
    expect(g.clock.pending).toBe(1)
    g.clock.advance(2000)
    expect(g.view.pending(port)).toBe(true)
  })

  it('fires at once for a negative (s64) timeout or one more than 2^50 ns ahead (Xen)', () => {
    const g = makeGuest(longMode)
    const port = bindTimer(g, 2)
    g.engine.setTimerOp(2, 2n ** 64n - 5n)
    expect(g.view.pending(port)).toBe(true)
    g.view.clearPending(port)
    g.engine.setTimerOp(2, 2n ** 50n + 10n)
    expect(g.view.pending(port)).toBe(true)
    expect(g.clock.pending).toBe(0)
  })

  it('a past deadline fires on the next clock turn', () => {
    const g = makeGuest(longMode)
    const port = bindTimer(g, 0)
    g.clock.time = 10_000
    g.engine.setTimerOp(0, 5)
    g.clock.advance(0)
    expect(g.view.pending(port)).toBe(true)
  })

  it('each vCPU has its own timer and VIRQ_TIMER port', () => {
    const g = makeGuest(longMode)
    const p0 = bindTimer(g, 0)
    const p3 = bindTimer(g, 3)
    g.engine.setTimerOp(0, 100)
    g.engine.setTimerOp(3, 200)
    g.clock.advance(150)
    expect([g.view.pending(p0), g.view.pending(p3)]).toEqual([true, false])
    g.clock.advance(50)
    expect(g.view.pending(p3)).toBe(true)
    expect(g.notified).toEqual([0, 3])
  })

  it('with no VIRQ_TIMER bound the timer fires into nothing', () => {
    const g = makeGuest(longMode)
    g.engine.setTimerOp(0, 100)
    g.clock.advance(100)
    expect(g.notified).toEqual([])
    expect(g.engine.raiseVirq(VIRQ.TIMER, 0)).toBe(-2)
  })

  it('VCPUOP_set_singleshot_timer: VCPU_SSHOTTMR_future is ignored; a passed deadline fires', () => {
    const g = makeGuest(longMode)
    const port = bindTimer(g, 1)
    g.clock.time = 1000
    expect(singleshot(g, 1, 500n, 1)).toBe(0)
    g.clock.advance(0)
    expect(g.view.pending(port)).toBe(true)
    g.view.clearPending(port)
    expect(singleshot(g, 1, 500n, 0)).toBe(0)
    g.clock.advance(0)
    expect(g.view.pending(port)).toBe(true)
    g.view.clearPending(port)
    expect(singleshot(g, 1, 3000n, 1)).toBe(0)
    g.clock.advance(2000)
    expect(g.view.pending(port)).toBe(true)
  })

  it('singleshot ops only on the calling vCPU (-EINVAL otherwise)', () => {
    const g = makeGuest(longMode)
    expect(singleshot(g, 1, 500n, 0, 0)).toBe(EINVAL)
    expect(g.engine.vcpuOp(VCPUOP.stop_singleshot_timer, 1, 0, 0)).toBe(EINVAL)
    expect(g.engine.vcpuOp(VCPUOP.stop_singleshot_timer, 1, 0, 1)).toBe(0)
  })

  it('VCPUOP_stop_singleshot_timer stops it', () => {
    const g = makeGuest(longMode)
    const port = bindTimer(g, 0)
    singleshot(g, 0, 100n)
    g.engine.vcpuOp(VCPUOP.stop_singleshot_timer, 0, 0, 0)
    g.clock.advance(1000)
    expect(g.view.pending(port)).toBe(false)
  })

  it('periodic timer ticks every period until stopped; periods under 1 ms are -EINVAL', () => {
    const g = makeGuest(longMode)
    const port = bindTimer(g, 2)
    g.memory.writeU64(ARG, 999_999n)
    expect(g.engine.vcpuOp(VCPUOP.set_periodic_timer, 2, ARG, 0)).toBe(EINVAL)
    g.memory.writeU64(ARG, 2_000_000n)
    expect(g.engine.vcpuOp(VCPUOP.set_periodic_timer, 2, ARG, 0)).toBe(0)
    let ticks = 0
    for (let i = 0; i < 10; i++) {
      g.clock.advance(1_000_000)
      if (g.view.pending(port)) {
        ticks++
        g.view.clearPending(port)
        g.view.consume(2)
      }
    }
    expect(ticks).toBe(5)
    expect(g.engine.vcpuOp(VCPUOP.stop_periodic_timer, 2, 0, 0)).toBe(0)
    g.clock.advance(10_000_000)
    expect(g.view.pending(port)).toBe(false)
  })

  it('set_timer_op rejects a caller that is not a vCPU and non-integer timeouts', () => {
    const g = makeGuest(longMode)
    expect(g.engine.setTimerOp(4, 1)).toBe(EINVAL)
    expect(g.engine.setTimerOp(0, 1.5)).toBe(EINVAL)
  })
})

describe('monotonicClock', () => {
  it('counts up from 0 and fires a scheduled call', async () => {
    const clock = monotonicClock()
    const t0 = clock.now()
    expect(t0).toBeGreaterThanOrEqual(0)
    const fired = await new Promise<boolean>((resolve) => {
      clock.schedule(clock.now() + 1_000_000, () => resolve(true))
    })
    expect(fired).toBe(true)
    expect(clock.now()).toBeGreaterThan(t0)
    let ran = false
    const h = clock.schedule(clock.now() + 1_000_000, () => {
      ran = true
    })
    clock.cancel(h)
    await new Promise((r) => setTimeout(r, 5))
    expect(ran).toBe(false)
  })
})
