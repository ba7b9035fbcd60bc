// The VMM-side API: backends, VIRQs, delivery routing, construction checks.
import { GuestMemory } from '@tsvmm/guest-memory'
import { describe, expect, it } from 'vitest'
import { DOMID_SELF, EVTCHNSTAT, EvtchnEngine, EvtchnError, VIRQ } from '../src/index.js'
import { allocUnbound, evtchnOp, makeGuest } from './helpers.js'

const EINVAL = -22
const EBUSY = -16
const ENOENT = -2

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('backends, %s guest', (_, longMode) => {
  it('toolstack style: the VMM allocates the guest port, binds it, both sides talk', () => {
    const g = makeGuest(longMode)
    const port = g.engine.backendAllocUnbound(1)
    expect(port).toBe(1)
    const heard: number[] = []
    expect(g.engine.backendBind(port, (p) => heard.push(p))).toBe(0)
    expect(g.engine.portInfo(port)).toMatchObject({
      status: EVTCHNSTAT.interdomain,
      remoteDom: 0,
      backend: true,
    })
    // Guest -> backend.
    expect(evtchnOp(g, 'send', { port }).rc).toBe(0)
    expect(heard).toEqual([port])
    expect(g.view.pending(port)).toBe(false)
    // Backend -> guest, on the vCPU the port notifies.
    expect(g.engine.backendNotify(port)).toBe(1)
    expect(g.engine.backendNotify(port)).toBe(0)
    expect(g.view.pending(port)).toBe(true)
    expect(g.notified).toEqual([1])
    // The guest sees the backend as domain 0 in status.
    const st = evtchnOp(g, 'status', { dom: DOMID_SELF, port })
    expect(st.out('status')).toBe(EVTCHNSTAT.interdomain)
    expect(g.memory.readU16(0x20000 + 16)).toBe(0)
  })

  it('frontend style: the guest allocates a port for dom0, the backend binds to it', () => {
    const g = makeGuest(longMode)
    const port = allocUnbound(g, 0)
    const heard: number[] = []
    expect(g.engine.backendBind(port, (p) => heard.push(p))).toBe(0)
    expect(g.engine.backendBind(port, () => {})).toBe(EBUSY)
    evtchnOp(g, 'send', { port })
    expect(heard).toEqual([port])
  })

  it('refuses ports that are not unbound for the backend', () => {
    const g = makeGuest(longMode)
    const loop = allocUnbound(g)
    expect(g.engine.backendBind(loop, () => {})).toBe(EINVAL)
    expect(g.engine.backendBind(0, () => {})).toBe(EINVAL)
    expect(g.engine.backendBind(300, () => {})).toBe(EINVAL)
    expect(g.engine.backendNotify(loop)).toBe(EINVAL)
    expect(g.engine.backendUnbind(loop)).toBe(EINVAL)
    expect(g.engine.backendAllocUnbound(7)).toBe(ENOENT)
  })

  it('backendUnbind leaves the guest port unbound for the backend; rebinding works', () => {
    const g = makeGuest(longMode)
    const port = g.engine.backendAllocUnbound()
    const heard: number[] = []
    g.engine.backendBind(port, (p) => heard.push(p))
    expect(g.engine.backendUnbind(port)).toBe(0)
    expect(g.engine.portInfo(port)).toMatchObject({
      status: EVTCHNSTAT.unbound,
      remoteDom: 0,
      backend: false,
    })
    expect(evtchnOp(g, 'send', { port }).rc).toBe(0) // unbound: dropped
    expect(heard).toEqual([])
    expect(g.engine.backendBind(port, (p) => heard.push(p))).toBe(0)
    evtchnOp(g, 'send', { port })
    expect(heard).toEqual([port])
  })

  it('the guest closing a backend port drops the binding', () => {
    const g = makeGuest(longMode)
    const port = g.engine.backendAllocUnbound()
    g.engine.backendBind(port, () => {})
    expect(evtchnOp(g, 'close', { port }).rc).toBe(0)
    expect(g.engine.backendNotify(port)).toBe(EINVAL)
    expect(g.engine.portInfo(port).backend).toBe(false)
  })

  it('a throwing backend handler is reported, the send still returns 0', () => {
    const errors: unknown[] = []
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x40000) }])
    const engine = new EvtchnEngine({
      memory,
      vcpus: 1,
      longMode,
      notify: () => {},
      onError: (e) => errors.push(e),
    })
    engine.setSharedInfo(0x10000)
    const port = engine.backendAllocUnbound()
    engine.backendBind(port, () => {
      throw new Error('backend bug')
    })
    memory.writeU32(0x20000, port)
    expect(engine.hypercall(4, 0x20000, 0)).toBe(0)
    expect(errors).toHaveLength(1)
  })
})

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('VIRQs, %s guest', (_, longMode) => {
  it('raiseVirq delivers to the bound port; -ENOENT when unbound; -EINVAL when bad', () => {
    const g = makeGuest(longMode)
    expect(g.engine.raiseVirq(VIRQ.DEBUG, 2)).toBe(ENOENT)
    const r = evtchnOp(g, 'bind_virq', { virq: VIRQ.DEBUG, vcpu: 2 })
    const port = r.out('port')
    expect(g.engine.virqPort(VIRQ.DEBUG, 2)).toBe(port)
    expect(g.engine.raiseVirq(VIRQ.DEBUG, 2)).toBe(1)
    expect(g.engine.raiseVirq(VIRQ.DEBUG, 1)).toBe(ENOENT)
    expect(g.notified).toEqual([2])
    expect(g.engine.raiseVirq(24, 0)).toBe(EINVAL)
    expect(g.engine.raiseVirq(VIRQ.DEBUG, 4)).toBe(EINVAL)
  })

  it('a global VIRQ is looked up on vCPU 0 whatever vCPU is named', () => {
    const g = makeGuest(longMode)
    const port = evtchnOp(g, 'bind_virq', { virq: VIRQ.CONSOLE, vcpu: 0 }).out('port')
    expect(g.engine.raiseVirq(VIRQ.CONSOLE, 3)).toBe(1)
    expect(g.view.pending(port)).toBe(true)
    expect(g.notified).toEqual([0])
  })

  it('a masked VIRQ port reports -ENOTCONN', () => {
    const g = makeGuest(longMode)
    const port = evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu: 1 }).out('port')
    g.view.mask(port)
    expect(g.engine.raiseVirq(VIRQ.TIMER, 1)).toBe(-107)
  })
})

describe('engine', () => {
  it('routes port-table deliveries through useDelivery and back', () => {
    const g = makeGuest(true)
    const calls: [number, number][] = []
    g.engine.useDelivery((port, vcpu) => {
      calls.push([port, vcpu])
      return 1
    })
    const port = evtchnOp(g, 'bind_ipi', { vcpu: 3 }).out('port')
    evtchnOp(g, 'send', { port })
    expect(calls).toEqual([[port, 3]])
    expect(g.view.pending(port)).toBe(false)
    g.engine.useDelivery(null)
    evtchnOp(g, 'send', { port })
    expect(g.view.pending(port)).toBe(true)
  })

  it('checks its options', () => {
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x1000) }])
    const make = (o: object) => () => new EvtchnEngine({ memory, vcpus: 1, notify: () => {}, ...o })
    expect(make({ vcpus: 0 })).toThrow(EvtchnError)
    expect(make({ vcpus: 1.5 })).toThrow(EvtchnError)
    expect(make({ domid: 0 })).toThrow(/backend domain/)
    expect(make({ domid: 0x7ff0 })).toThrow(EvtchnError)
    expect(make({ notify: 5 })).toThrow(EvtchnError)
    expect(make({ domid: 3 })().domid).toBe(3)
  })

  it('typed errors carry errno, name, operation and hint', () => {
    const g = makeGuest(true)
    try {
      g.engine.setSharedInfo(3)
      expect.unreachable()
    } catch (e) {
      const err = e as EvtchnError
      expect(err).toBeInstanceOf(EvtchnError)
      expect(err.code).toBe('EINVAL')
      expect(err.errno).toBe(-22)
      expect(err.operation).toBe('setSharedInfo')
      expect(err.hint).toMatch(/page-aligned/)
    }
  })
})
