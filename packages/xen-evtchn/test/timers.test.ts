// VIRQ_TIMER: singleshot timers of set_timer_op and VCPUOP_set_singleshot_timer, the periodic
// timer, on a manual clock.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { EvtchnEngine, monotonicClock, timeoutClock, VCPUOP, VIRQ } from '../src/index.js'
import { VcpuTimers } from '../src/timers.js'
import { ARG, evtchnOp, type Guest, ManualClock, makeGuest } from './helpers.js'

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

  it('a negative (s64) timeout or one 2^50 ns or more ahead ticks 100 ms from now (Xen, KVM)', () => {
    const g = makeGuest(longMode)
    const port = bindTimer(g, 2)
    g.clock.time = 7_000
    for (const timeout of [2n ** 64n - 5n, 2n ** 63n, 7_000n + 2n ** 50n, 2n ** 62n]) {
      expect(g.engine.setTimerOp(2, timeout)).toBe(0)
      expect(g.engine.snapshot().timers).toEqual([
        { vcpu: 2, singleshot: 100_007_000, period: null, periodicNext: null },
      ])
    }
    g.clock.advance(99_999_999)
    expect(g.view.pending(port)).toBe(false)
    g.clock.advance(1)
    expect(g.view.pending(port)).toBe(true)
    // One below the cut-off is a real deadline.
    g.engine.setTimerOp(2, 2n ** 50n - 1n + BigInt(g.clock.time))
    expect(g.engine.snapshot().timers[0]?.singleshot).toBe(2 ** 50 - 1 + g.clock.time)
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

function periodic(g: Guest, vcpu: number, period: bigint): number {
  g.memory.writeU64(ARG, period)
  return g.engine.vcpuOp(VCPUOP.set_periodic_timer, vcpu, ARG, 0)
}

function roundTrip(g: Guest) {
  const snap = JSON.parse(JSON.stringify(g.engine.snapshot()))
  const clock = new ManualClock()
  clock.time = g.clock.time
  const r = EvtchnEngine.restore(snap, { memory: g.memory, notify: () => {}, clock })
  expect(r.snapshot()).toEqual(snap)
  return snap
}

describe('timer limits: what a guest can arm, a snapshot holds', () => {
  it('VCPUOP_set_periodic_timer takes 1 ms .. STIME_DELTA_MAX (2^62 - 1), as Xen', () => {
    const g = makeGuest(true)
    expect(periodic(g, 0, 999_999n)).toBe(EINVAL)
    expect(periodic(g, 0, 1_000_000n)).toBe(0)
    expect(periodic(g, 1, 2n ** 60n)).toBe(0)
    expect(periodic(g, 2, 2n ** 62n - 1n)).toBe(0)
    expect(periodic(g, 3, 2n ** 62n)).toBe(EINVAL)
    expect(periodic(g, 3, 2n ** 64n - 1n)).toBe(EINVAL)
    const snap = roundTrip(g)
    expect(snap.timers.map((t: { period: number }) => t.period)).toEqual([
      1_000_000,
      2 ** 60,
      2 ** 62,
    ])
  })

  it('deadlines past 2^53 ns of uptime are kept (not clamped) and restore', () => {
    const g = makeGuest(true)
    const port = bindTimer(g, 0)
    g.clock.time = 2 ** 53 + 2 ** 20
    const deadline = BigInt(g.clock.time) + 2n ** 40n
    expect(g.engine.setTimerOp(0, deadline)).toBe(0)
    g.memory.writeU64(ARG, deadline + 2n ** 30n)
    g.memory.writeU32(ARG + 8, 0)
    expect(g.engine.vcpuOp(VCPUOP.set_singleshot_timer, 1, ARG, 1)).toBe(0)
    expect(periodic(g, 2, 2n ** 61n)).toBe(0)
    g.clock.advance(1_000_000)
    expect(g.view.pending(port)).toBe(false)
    const snap = roundTrip(g)
    expect(snap.timers[0].singleshot).toBe(Number(deadline))
    expect(snap.timers[1].singleshot).toBe(Number(deadline + 2n ** 30n))
    g.clock.advance(2 ** 40)
    expect(g.view.pending(port)).toBe(true)
  })

  it('a snapshot refuses periods a guest cannot set and times past 2^63', () => {
    const g = makeGuest(true)
    periodic(g, 0, 2_000_000n)
    const good = g.engine.snapshot()
    const bad = (t: object) => () =>
      EvtchnEngine.restore(
        {
          ...good,
          timers: [{ vcpu: 0, singleshot: null, period: null, periodicNext: null, ...t }],
        },
        { memory: g.memory, notify: () => {}, clock: new ManualClock() },
      )
    expect(bad({ period: 0, periodicNext: 5 })).toThrow(/malformed/)
    expect(bad({ period: 999_999, periodicNext: 5 })).toThrow(/malformed/)
    expect(bad({ period: 2 ** 63, periodicNext: 5 })).toThrow(/malformed/)
    expect(bad({ singleshot: 2 ** 64 })).toThrow(/malformed/)
    expect(bad({ singleshot: 1.5 })).toThrow(/malformed/)
    expect(bad({ singleshot: 2 ** 63 })).not.toThrow()
  })
})

describe('periodic timer on a late clock (M10)', () => {
  it('fires once for the ticks it missed and stays on its period', () => {
    const clock = new ManualClock()
    clock.late = true
    const fired: number[] = []
    const timers = new VcpuTimers(clock, 1, () => fired.push(clock.now()))
    expect(timers.setPeriodic(0, 1_000_000n)).toBe(0)
    // The host timer wakes 10.5 periods late: one tick, not eleven.
    clock.advance(10_500_000)
    expect(fired).toEqual([10_500_000])
    // The missed ticks are skipped: the next one is on the period grid after now.
    expect(timers.records()[0]?.periodicNext).toBe(11_000_000)
    clock.advance(499_999)
    expect(fired).toHaveLength(1)
    clock.advance(1)
    expect(fired).toEqual([10_500_000, 11_000_000])
    timers.stopAll()
  })

  it('ticks at its period on a clock that is on time', () => {
    const clock = new ManualClock()
    const fired: number[] = []
    const timers = new VcpuTimers(clock, 1, () => fired.push(clock.now()))
    timers.setPeriodic(0, 3_000_000n)
    clock.advance(10_000_000)
    expect(fired).toEqual([3_000_000, 6_000_000, 9_000_000])
    timers.stopAll()
  })
})

describe('timeoutClock (M21)', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('does not fire before the deadline, fires once at it', () => {
    vi.useFakeTimers({ now: 1000 })
    const clock = timeoutClock(() => Date.now() * 1e6)
    const start = clock.now()
    let firedAt: number | null = null
    clock.schedule(start + 50e6, () => {
      firedAt = clock.now()
    })
    clock.schedule(start + 3_600_000e6, () => {
      throw new Error('an hour-away timer fired')
    })
    vi.advanceTimersByTime(49)
    expect(firedAt).toBe(null)
    vi.advanceTimersByTime(1)
    expect(firedAt).toBe(start + 50e6)
    vi.advanceTimersByTime(60_000)
  })

  it('waits again when its clock ran slower than host time (a paused VM)', () => {
    vi.useFakeTimers()
    let guestNs = 0
    const clock = timeoutClock(() => guestNs)
    let fired = false
    clock.schedule(10e6, () => {
      fired = true
    })
    // 10 ms of host time pass but the guest clock stood still for 4 of them.
    guestNs = 6e6
    vi.advanceTimersByTime(10)
    expect(fired).toBe(false)
    guestNs = 10e6 - 1
    vi.advanceTimersByTime(4)
    expect(fired).toBe(false)
    guestNs = 10e6
    vi.advanceTimersByTime(1)
    expect(fired).toBe(true)
  })

  it('cancel stops a pending call, also one waiting again', () => {
    vi.useFakeTimers()
    let guestNs = 0
    const clock = timeoutClock(() => guestNs)
    let fired = false
    const h = clock.schedule(5e6, () => {
      fired = true
    })
    vi.advanceTimersByTime(5)
    expect(fired).toBe(false)
    clock.cancel(h)
    guestNs = 6e6
    vi.advanceTimersByTime(100)
    expect(fired).toBe(false)
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
