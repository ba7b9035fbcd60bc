// kvmClock: the engine's timers run on the VM's kvmclock, and a timer never fires before the
// kvmclock reaches its deadline (issue 16 M21: a clock that fired every timer at once passed the
// whole demo). Host timers are vitest's fake ones; the kvmclock is a fake VM's counter.
import type { Vm } from '@tsvmm/kvm-sys'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { kvmClock } from '../../src/xen/clock.js'

function fakeVm(): { vm: Vm; set: (ns: bigint) => void } {
  let clock = 0n
  const vm = {
    getClock: () => ({ clock, flags: 0, realtime: 0n, hostTsc: 0n }),
  } as unknown as Vm
  const set = (ns: bigint) => {
    clock = ns
  }
  return { vm, set }
}

describe('kvmClock', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reads now from the VM kvmclock', () => {
    const { vm, set } = fakeVm()
    const clock = kvmClock(vm)
    set(123_456_789n)
    expect(clock.now()).toBe(123_456_789)
  })

  it('fires a timer at its kvmclock deadline, not before', () => {
    vi.useFakeTimers()
    const { vm, set } = fakeVm()
    const clock = kvmClock(vm)
    set(1_000_000_000n)
    const fired: number[] = []
    clock.schedule(1_020_000_000, () => fired.push(clock.now()))
    clock.schedule(1_000_000_000 + 3_600e9, () => fired.push(-1))
    // Host time runs ahead of the guest's (the VM was paused for 15 of these 19 ms).
    vi.advanceTimersByTime(19)
    set(1_004_000_000n)
    vi.advanceTimersByTime(1)
    expect(fired).toEqual([])
    set(1_019_999_999n)
    vi.advanceTimersByTime(16)
    expect(fired).toEqual([])
    set(1_020_000_000n)
    vi.advanceTimersByTime(1)
    expect(fired).toEqual([1_020_000_000])
    vi.advanceTimersByTime(60_000)
    expect(fired).toEqual([1_020_000_000])
  })

  it('a deadline already passed fires on the next timer turn, not inside schedule', () => {
    vi.useFakeTimers()
    const { vm, set } = fakeVm()
    const clock = kvmClock(vm)
    set(5_000_000n)
    let fired = false
    clock.schedule(1_000_000, () => {
      fired = true
    })
    expect(fired).toBe(false)
    vi.advanceTimersByTime(0)
    expect(fired).toBe(true)
  })
})
