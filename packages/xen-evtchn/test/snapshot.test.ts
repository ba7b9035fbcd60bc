// snapshot() / EvtchnEngine.restore(): versioned JSON data that rebuilds an equivalent engine.
import { describe, expect, it } from 'vitest'
import {
  DOMID_SELF,
  EVTCHNSTAT,
  EvtchnEngine,
  EvtchnError,
  SNAPSHOT_VERSION,
  VIRQ,
} from '../src/index.js'
import { allocUnbound, bindIpi, evtchnOp, ManualClock, makeGuest, SHINFO } from './helpers.js'

function busyGuest(longMode: boolean) {
  const g = makeGuest(longMode)
  const a = allocUnbound(g)
  const b = evtchnOp(g, 'bind_interdomain', { remote_dom: DOMID_SELF, remote_port: a }).out(
    'local_port',
  )
  const ipi = bindIpi(g, 2)
  const timer = evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu: 1 }).out('port')
  const con = evtchnOp(g, 'bind_virq', { virq: VIRQ.CONSOLE, vcpu: 0 }).out('port')
  evtchnOp(g, 'bind_vcpu', { port: con, vcpu: 3 })
  const be = g.engine.backendAllocUnbound()
  g.engine.backendBind(be, () => {})
  g.engine.setVcpuInfo(3, null)
  g.engine.setPending(200, 3) // kept in vCPU 3's shadow selector
  g.engine.setTimerOp(1, 5000)
  return { g, a, b, ipi, timer, con, be }
}

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('snapshot, %s guest', (_, longMode) => {
  it('is versioned JSON and survives a JSON round trip', () => {
    const { g } = busyGuest(longMode)
    const snap = g.engine.snapshot()
    expect(snap.format).toBe('tsvmm.xen-evtchn')
    expect(snap.version).toBe(SNAPSHOT_VERSION)
    expect(snap.longMode).toBe(longMode)
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap)
  })

  it('restores an engine that behaves like the original', () => {
    const { g, a, b, ipi, timer, con, be } = busyGuest(longMode)
    const json = JSON.stringify(g.engine.snapshot())
    g.engine.dispose()
    const notified: number[] = []
    const clock = new ManualClock()
    clock.time = g.clock.time
    const r = EvtchnEngine.restore(JSON.parse(json), {
      memory: g.memory,
      notify: (v) => notified.push(v),
      clock,
    })
    expect(r.snapshot()).toEqual(JSON.parse(json))
    expect(r.openPorts()).toEqual(g.engine.openPorts())
    expect(r.sharedInfo).toBe(SHINFO)
    expect(r.vcpuInfo(3)).toBe(null)
    // Loopback pair still connected.
    g.view.clearPending(a)
    r.setVcpuInfo(3, SHINFO + 3 * 64) // delivers the kept selector
    expect(notified).toEqual([3])
    g.memory.writeU32(0x20000, b)
    expect(r.hypercall(4, 0x20000, 0)).toBe(0)
    expect(g.view.pending(a)).toBe(true)
    // VIRQ bindings and the moved global VIRQ.
    expect(r.virqPort(VIRQ.TIMER, 1)).toBe(timer)
    expect(r.raiseVirq(VIRQ.CONSOLE, 0)).toBe(1)
    expect(r.portInfo(con).vcpu).toBe(3)
    expect(r.portInfo(ipi)).toMatchObject({ status: EVTCHNSTAT.ipi, vcpu: 2 })
    // The timer is re-armed.
    clock.advance(5000)
    expect(g.view.pending(timer)).toBe(true)
    // Backend ports come back bound, waiting for their handler.
    expect(r.portInfo(be)).toMatchObject({ status: EVTCHNSTAT.interdomain, backend: false })
    const heard: number[] = []
    expect(r.backendBind(be, (p) => heard.push(p))).toBe(0)
    g.memory.writeU32(0x20000, be)
    r.hypercall(4, 0x20000, 0)
    expect(heard).toEqual([be])
  })

  it('a restored engine does not allow a second register_vcpu_info', () => {
    const g = makeGuest(longMode)
    g.memory.writeU64(0x20000, 0x41n)
    g.memory.writeU32(0x20008, 0)
    expect(g.engine.vcpuOp(10, 0, 0x20000, 0)).toBe(0)
    const r = EvtchnEngine.restore(g.engine.snapshot(), {
      memory: g.memory,
      notify: () => {},
      clock: new ManualClock(),
    })
    expect(r.vcpuOp(10, 0, 0x20000, 0)).toBe(-22)
  })
})

describe('restore validation', () => {
  const good = () => busyGuest(true).g.engine.snapshot() as unknown as Record<string, unknown>
  const bad = (mutate: (s: Record<string, unknown>) => void) => {
    const s = good()
    mutate(s)
    const { memory } = makeGuest(true)
    return () => EvtchnEngine.restore(s, { memory, notify: () => {}, clock: new ManualClock() })
  }

  it('rejects malformed snapshots with EvtchnError', () => {
    const cases: ((s: Record<string, unknown>) => void)[] = [
      (s) => {
        s.format = 'other'
      },
      (s) => {
        s.version = 2
      },
      (s) => {
        s.vcpus = 0
      },
      (s) => {
        s.domid = 0
      },
      (s) => {
        s.longMode = 'yes'
      },
      (s) => {
        s.sharedInfo = -4096
      },
      (s) => {
        s.vcpuInfo = [null]
      },
      (s) => {
        s.shadowSelectors = [
          [0, 0],
          [0, 0],
          [0, 0],
          [2 ** 32, 0],
        ]
      },
      (s) => {
        s.ports = [{ port: 0, status: 5, vcpu: 0, value: 0, remoteDom: 0 }]
      },
      (s) => {
        s.ports = [{ port: 1, status: 9, vcpu: 0, value: 0, remoteDom: 0 }]
      },
      (s) => {
        s.ports = [{ port: 1, status: 5, vcpu: 4, value: 0, remoteDom: 0 }]
      },
      (s) => {
        s.ports = [
          { port: 1, status: 5, vcpu: 0, value: 0, remoteDom: 0 },
          { port: 1, status: 5, vcpu: 0, value: 0, remoteDom: 0 },
        ]
      },
      (s) => {
        s.ports = [{ port: 1, status: 4, vcpu: 0, value: 30, remoteDom: 0 }]
      },
      (s) => {
        s.ports = [
          { port: 1, status: 4, vcpu: 0, value: 2, remoteDom: 0 },
          { port: 2, status: 4, vcpu: 0, value: 2, remoteDom: 0 },
        ]
      },
      (s) => {
        s.ports = [{ port: 1, status: 2, vcpu: 0, value: 2, remoteDom: 1 }]
      },
      (s) => {
        s.timers = [{ vcpu: 0, singleshot: null, period: 5, periodicNext: null }]
      },
      (s) => {
        s.timers = 'none'
      },
    ]
    for (const c of cases) expect(bad(c)).toThrow(EvtchnError)
    expect(() =>
      EvtchnEngine.restore(null, { memory: makeGuest(true).memory, notify: () => {} }),
    ).toThrow(EvtchnError)
  })

  it('rejects addresses outside the memory it is restored on', () => {
    expect(
      bad((s) => {
        s.sharedInfo = 0x200000
      }),
    ).toThrow(EvtchnError)
    expect(
      bad((s) => {
        s.vcpuInfo = [0x200000, null, null, null]
      }),
    ).toThrow(EvtchnError)
  })
})
