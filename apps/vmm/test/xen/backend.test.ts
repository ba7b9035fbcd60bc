// The test backend's delayed notify (NOTIFY_LATER, NOTIFY_TIME): what the event latency guest
// times against. The offload and the clock are test doubles; the rules are the backend's own.
import type { EvtchnClock } from '@tsvmm/xen-evtchn'
import { XenErrno } from '@tsvmm/xen-evtchn'
import type { KvmEvtchn } from '@tsvmm/xen-evtchn/kvm'
import { describe, expect, it } from 'vitest'
import { BACKEND_OP } from '../../src/devices/guest-protocol.js'
import { DeviceBackend } from '../../src/xen/backend.js'

/** A clock whose time the test moves; scheduled calls run when it passes their deadline. */
function manualClock() {
  let now = 0
  const pending = new Set<{ at: number; fire: () => void }>()
  const clock: EvtchnClock = {
    now: () => now,
    schedule: (at, fire) => {
      const h = { at, fire }
      pending.add(h)
      return h
    },
    cancel: (h) => {
      pending.delete(h as { at: number; fire: () => void })
    },
  }
  const advance = (ns: number) => {
    now += ns
    for (const h of [...pending])
      if (h.at <= now) {
        pending.delete(h)
        h.fire()
      }
  }
  return { clock, advance, pending }
}

function backendWith() {
  const notified: number[] = []
  const evtchn = {
    backendBind: () => 0,
    backendUnbind: () => 0,
    backendNotify: (port: number) => {
      notified.push(port)
      return 0
    },
    pollBackends: () => {},
  } as unknown as KvmEvtchn
  const c = manualClock()
  const backend = new DeviceBackend(evtchn, c.clock)
  expect(backend.handle({ op: BACKEND_OP.BIND, port: 5, count: 0 }).status).toBe(0)
  return { backend, notified, ...c }
}

describe('NOTIFY_LATER and NOTIFY_TIME', () => {
  it('notifies once after the delay and reports when, split over two words', () => {
    const { backend, notified, advance } = backendWith()
    advance(2 ** 32 + 7) // past 4.29 s: the time needs its high word
    expect(backend.handle({ op: BACKEND_OP.NOTIFY_LATER, port: 5, count: 2000 })).toEqual({
      status: 0,
    })
    advance(1_999_999)
    expect(notified).toEqual([])
    advance(1)
    expect(notified).toEqual([5])
    const at = 2 ** 32 + 7 + 2_000_000
    expect(backend.handle({ op: BACKEND_OP.NOTIFY_TIME, port: 5, count: 0 })).toEqual({
      status: 0,
      count: at % 2 ** 32,
      backendPort: 1,
    })
    advance(10_000_000)
    expect(notified).toEqual([5])
  })

  it('refuses a bad delay, an unbound port, a second pending notify, and a time never taken', () => {
    const { backend } = backendWith()
    const req = (op: number, port: number, count: number) =>
      backend.handle({ op, port, count }).status
    expect(req(BACKEND_OP.NOTIFY_TIME, 5, 0)).toBe(-XenErrno.ENOENT)
    expect(req(BACKEND_OP.NOTIFY_LATER, 5, 0)).toBe(-XenErrno.EINVAL)
    expect(req(BACKEND_OP.NOTIFY_LATER, 5, 1_000_001)).toBe(-XenErrno.EINVAL)
    expect(req(BACKEND_OP.NOTIFY_LATER, 6, 10)).toBe(-XenErrno.EINVAL)
    expect(req(BACKEND_OP.NOTIFY_LATER, 5, 10)).toBe(0)
    expect(req(BACKEND_OP.NOTIFY_LATER, 5, 10)).toBe(-XenErrno.EBUSY)
  })

  it('close and dispose cancel what is scheduled', () => {
    const { backend, notified, advance, pending } = backendWith()
    expect(backend.handle({ op: BACKEND_OP.NOTIFY_LATER, port: 5, count: 10 }).status).toBe(0)
    expect(backend.handle({ op: BACKEND_OP.CLOSE, port: 5, count: 0 }).status).toBe(0)
    expect(pending.size).toBe(0)
    advance(1_000_000)
    expect(notified).toEqual([])
    expect(backend.handle({ op: BACKEND_OP.BIND, port: 5, count: 0 }).status).toBe(0)
    expect(backend.handle({ op: BACKEND_OP.NOTIFY_LATER, port: 5, count: 10 }).status).toBe(0)
    backend.dispose()
    expect(pending.size).toBe(0)
    expect(backend.errors).toEqual([])
  })
})
