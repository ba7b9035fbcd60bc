// The EVTCHNOP port table rules (Xen numbering and errnos), issued as guest hypercalls, in both
// guest widths.
import { describe, expect, it } from 'vitest'
import { DOMID_SELF, EVTCHNSTAT, VIRQ } from '../src/index.js'
import { allocUnbound, bindIpi, evtchnOp, makeGuest } from './helpers.js'

const EINVAL = -22
const ENOENT = -2
const EEXIST = -17
const ESRCH = -3
const EPERM = -1
const ENOSPC = -28

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('port table, %s guest', (_, longMode) => {
  const limit = longMode ? 4096 : 1024

  it('allocates the lowest free port, never port 0', () => {
    const g = makeGuest(longMode)
    expect(allocUnbound(g)).toBe(1)
    expect(bindIpi(g, 1)).toBe(2)
    expect(evtchnOp(g, 'close', { port: 1 }).rc).toBe(0)
    expect(allocUnbound(g)).toBe(1)
  })

  it('runs out of ports at the mode limit with -ENOSPC', () => {
    const g = makeGuest(longMode)
    for (let p = 1; p < limit; p++) expect(bindIpi(g, 0)).toBe(p)
    expect(evtchnOp(g, 'bind_ipi', { vcpu: 0 }).rc).toBe(ENOSPC)
  })

  it('alloc_unbound: dom must be self; remote self (loopback) or the backend domain', () => {
    const g = makeGuest(longMode)
    expect(evtchnOp(g, 'alloc_unbound', { dom: 5, remote_dom: DOMID_SELF }).rc).toBe(ESRCH)
    expect(evtchnOp(g, 'alloc_unbound', { dom: DOMID_SELF, remote_dom: 9 }).rc).toBe(EPERM)
    expect(evtchnOp(g, 'alloc_unbound', { dom: 1, remote_dom: 1 }).rc).toBe(0) // own domid
    const r = evtchnOp(g, 'alloc_unbound', { dom: DOMID_SELF, remote_dom: 0 })
    expect(r.rc).toBe(0)
    expect(g.engine.portInfo(r.out('port'))).toMatchObject({
      status: EVTCHNSTAT.unbound,
      remoteDom: 0,
    })
  })

  it('bind_interdomain loopback: both ends become peers; a send reaches the peer', () => {
    const g = makeGuest(longMode)
    const a = allocUnbound(g)
    const r = evtchnOp(g, 'bind_interdomain', { remote_dom: DOMID_SELF, remote_port: a })
    expect(r.rc).toBe(0)
    const b = r.out('local_port')
    expect(b).toBe(2)
    expect(g.engine.portInfo(a)).toMatchObject({ status: EVTCHNSTAT.interdomain, value: b })
    expect(g.engine.portInfo(b)).toMatchObject({ status: EVTCHNSTAT.interdomain, value: a })
    // Like Xen, the new local port starts pending (a notification may have been lost).
    expect(g.view.pending(b)).toBe(true)
    g.view.clearPending(b)
    expect(evtchnOp(g, 'bind_vcpu', { port: a, vcpu: 3 }).rc).toBe(0)
    g.notified.length = 0
    expect(evtchnOp(g, 'send', { port: b }).rc).toBe(0)
    expect(g.view.pending(a)).toBe(true)
    expect(g.notified).toEqual([3])
    expect(evtchnOp(g, 'send', { port: a }).rc).toBe(0)
    expect(g.view.pending(b)).toBe(true)
  })

  it('bind_interdomain errors: unknown domain, bad or unfit remote port', () => {
    const g = makeGuest(longMode)
    const backendPort = allocUnbound(g, 0)
    const ipi = bindIpi(g, 0)
    expect(evtchnOp(g, 'bind_interdomain', { remote_dom: 7, remote_port: 1 }).rc).toBe(ESRCH)
    expect(evtchnOp(g, 'bind_interdomain', { remote_dom: DOMID_SELF, remote_port: 0 }).rc).toBe(
      EINVAL,
    )
    expect(evtchnOp(g, 'bind_interdomain', { remote_dom: DOMID_SELF, remote_port: limit }).rc).toBe(
      EINVAL,
    )
    expect(evtchnOp(g, 'bind_interdomain', { remote_dom: DOMID_SELF, remote_port: ipi }).rc).toBe(
      EINVAL,
    )
    expect(evtchnOp(g, 'bind_interdomain', { remote_dom: DOMID_SELF, remote_port: 100 }).rc).toBe(
      EINVAL,
    )
    // A port left unbound for the backend is not the guest's to loop back to.
    expect(
      evtchnOp(g, 'bind_interdomain', { remote_dom: DOMID_SELF, remote_port: backendPort }).rc,
    ).toBe(EINVAL)
    expect(evtchnOp(g, 'bind_interdomain', { remote_dom: 0, remote_port: backendPort }).rc).toBe(
      EINVAL,
    )
    // Nothing was allocated by the failures.
    expect(g.engine.openPorts().map((p) => p.port)).toEqual([backendPort, ipi])
  })

  it('bind_virq: per-vCPU VIRQs on any vCPU, global ones on vCPU 0 only, -EEXIST twice', () => {
    const g = makeGuest(longMode)
    const t0 = evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu: 0 })
    const t0port = t0.out('port')
    const t1 = evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu: 1 })
    const t1port = t1.out('port')
    expect([t0.rc, t1.rc]).toEqual([0, 0])
    expect([t0port, t1port]).toEqual([1, 2])
    expect(evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu: 1 }).rc).toBe(EEXIST)
    expect(evtchnOp(g, 'bind_virq', { virq: VIRQ.CONSOLE, vcpu: 1 }).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'bind_virq', { virq: VIRQ.CONSOLE, vcpu: 0 }).rc).toBe(0)
    expect(evtchnOp(g, 'bind_virq', { virq: VIRQ.CONSOLE, vcpu: 0 }).rc).toBe(EEXIST)
    expect(evtchnOp(g, 'bind_virq', { virq: 24, vcpu: 0 }).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'bind_virq', { virq: VIRQ.DEBUG, vcpu: 4 }).rc).toBe(ENOENT)
    for (const virq of [VIRQ.DEBUG, VIRQ.XENOPROF, VIRQ.XENPMU])
      expect(evtchnOp(g, 'bind_virq', { virq, vcpu: 3 }).rc).toBe(0)
    // Closing frees the VIRQ for binding again.
    expect(evtchnOp(g, 'close', { port: t1port }).rc).toBe(0)
    expect(evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu: 1 }).rc).toBe(0)
  })

  it('bind_ipi: -ENOENT for an unknown vCPU; send raises on the bound vCPU', () => {
    const g = makeGuest(longMode)
    expect(evtchnOp(g, 'bind_ipi', { vcpu: 4 }).rc).toBe(ENOENT)
    const p = bindIpi(g, 2)
    expect(evtchnOp(g, 'send', { port: p }, 0).rc).toBe(0)
    expect(g.view.pending(p)).toBe(true)
    expect(g.notified).toEqual([2])
  })

  it('send: unbound is dropped with 0; VIRQ, closed, 0 and out of range are -EINVAL', () => {
    const g = makeGuest(longMode)
    const u = allocUnbound(g)
    expect(evtchnOp(g, 'send', { port: u }).rc).toBe(0)
    expect(g.view.pending(u)).toBe(false)
    const v = evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu: 0 }).out('port')
    expect(evtchnOp(g, 'send', { port: v }).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'send', { port: 50 }).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'send', { port: 0 }).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'send', { port: limit }).rc).toBe(EINVAL)
    expect(g.notified).toEqual([])
  })

  it('send returns 0 whatever the delivery code underneath (masked, coalesced)', () => {
    const g = makeGuest(longMode)
    const p = bindIpi(g, 0)
    g.view.mask(p)
    expect(evtchnOp(g, 'send', { port: p }).rc).toBe(0) // -ENOTCONN below
    expect(evtchnOp(g, 'send', { port: p }).rc).toBe(0) // 0 (already pending) below
  })

  it('status: every port kind, closed ports in range, and the errors', () => {
    const g = makeGuest(longMode)
    const u = allocUnbound(g)
    const b = allocUnbound(g, 0)
    const i = bindIpi(g, 3)
    const t = evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu: 2 }).out('port')
    const l = evtchnOp(g, 'bind_interdomain', { remote_dom: DOMID_SELF, remote_port: u }).out(
      'local_port',
    )
    const st = (port: number) => {
      const r = evtchnOp(g, 'status', { dom: DOMID_SELF, port })
      return {
        rc: r.rc,
        status: r.out('status'),
        vcpu: r.out('vcpu'),
        u16: g.memory.readU16(0x20000 + 16),
        u32: r.out('u'),
        port: r.out('interdomain_port'),
      }
    }
    expect(st(b)).toMatchObject({ rc: 0, status: EVTCHNSTAT.unbound, u16: 0 })
    expect(st(i)).toMatchObject({ rc: 0, status: EVTCHNSTAT.ipi, vcpu: 3 })
    expect(st(t)).toMatchObject({ rc: 0, status: EVTCHNSTAT.virq, vcpu: 2, u32: VIRQ.TIMER })
    expect(st(u)).toMatchObject({ rc: 0, status: EVTCHNSTAT.interdomain, u16: 1, port: l })
    expect(st(l)).toMatchObject({ rc: 0, status: EVTCHNSTAT.interdomain, u16: 1, port: u })
    expect(st(99)).toMatchObject({ rc: 0, status: EVTCHNSTAT.closed, vcpu: 0 })
    expect(st(limit - 1)).toMatchObject({ rc: 0, status: EVTCHNSTAT.closed })
    expect(st(0).rc).toBe(EINVAL)
    expect(st(limit).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'status', { dom: 3, port: u }).rc).toBe(ESRCH)
  })

  it('close: loopback peer goes back to unbound; pending bit cleared; errors', () => {
    const g = makeGuest(longMode)
    const a = allocUnbound(g)
    const b = evtchnOp(g, 'bind_interdomain', { remote_dom: DOMID_SELF, remote_port: a }).out(
      'local_port',
    )
    expect(g.view.pending(b)).toBe(true)
    expect(evtchnOp(g, 'close', { port: b }).rc).toBe(0)
    expect(g.view.pending(b)).toBe(false)
    expect(g.engine.portInfo(b).status).toBe(EVTCHNSTAT.closed)
    expect(g.engine.portInfo(a)).toMatchObject({ status: EVTCHNSTAT.unbound, value: 0 })
    // The unbound end can be bound again.
    expect(evtchnOp(g, 'bind_interdomain', { remote_dom: DOMID_SELF, remote_port: a }).rc).toBe(0)
    expect(evtchnOp(g, 'close', { port: 77 }).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'close', { port: 0 }).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'close', { port: limit }).rc).toBe(EINVAL)
  })

  it('close resets the entry so a rebind sees no stale event or vCPU', () => {
    const g = makeGuest(longMode)
    const p = allocUnbound(g)
    evtchnOp(g, 'bind_vcpu', { port: p, vcpu: 2 })
    g.view.mask(p)
    g.engine.setPending(p, 2)
    evtchnOp(g, 'close', { port: p })
    g.view.unmaskBit(p)
    const q = bindIpi(g, 0)
    expect(q).toBe(p)
    expect(g.engine.portInfo(q)).toMatchObject({ vcpu: 0, pending: false })
  })

  it('bind_vcpu: moves unbound, interdomain and global VIRQ ports; not IPI or per-vCPU VIRQ', () => {
    const g = makeGuest(longMode)
    const u = allocUnbound(g)
    const i = bindIpi(g, 0)
    const timer = evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu: 0 }).out('port')
    const con = evtchnOp(g, 'bind_virq', { virq: VIRQ.CONSOLE, vcpu: 0 }).out('port')
    expect(evtchnOp(g, 'bind_vcpu', { port: u, vcpu: 1 }).rc).toBe(0)
    expect(evtchnOp(g, 'bind_vcpu', { port: con, vcpu: 2 }).rc).toBe(0)
    expect(g.engine.portInfo(con).vcpu).toBe(2)
    expect(evtchnOp(g, 'bind_vcpu', { port: i, vcpu: 1 }).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'bind_vcpu', { port: timer, vcpu: 1 }).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'bind_vcpu', { port: 500, vcpu: 1 }).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'bind_vcpu', { port: u, vcpu: 4 }).rc).toBe(ENOENT)
    // -ENOENT is checked before the port, as Xen does.
    expect(evtchnOp(g, 'bind_vcpu', { port: 0, vcpu: 9 }).rc).toBe(ENOENT)
    expect(evtchnOp(g, 'bind_vcpu', { port: 0, vcpu: 1 }).rc).toBe(EINVAL)
    // A global VIRQ now fires on the vCPU it was moved to.
    g.notified.length = 0
    expect(g.engine.raiseVirq(VIRQ.CONSOLE, 0)).toBe(1)
    expect(g.notified).toEqual([2])
  })

  it('bind_vcpu raises a pending unmasked port on the new vCPU (QEMU)', () => {
    const g = makeGuest(longMode)
    const u = allocUnbound(g)
    // Pending on vCPU 0 but the guest has not looked yet: clear vCPU 0's view of it.
    g.engine.setPending(u, 0)
    g.view.consume(0)
    g.notified.length = 0
    expect(evtchnOp(g, 'bind_vcpu', { port: u, vcpu: 3 }).rc).toBe(0)
    expect(g.view.selector(3)).toBe(1n << g.view.word(u))
    expect(g.notified).toEqual([3])
    // Masked: not raised.
    const m = allocUnbound(g)
    g.view.mask(m)
    g.engine.setPending(m, 0)
    g.notified.length = 0
    expect(evtchnOp(g, 'bind_vcpu', { port: m, vcpu: 1 }).rc).toBe(0)
    expect(g.notified).toEqual([])
  })

  it('reset closes every port', () => {
    const g = makeGuest(longMode)
    allocUnbound(g)
    bindIpi(g, 1)
    evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu: 0 })
    expect(evtchnOp(g, 'reset', { dom: 4 }).rc).toBe(ESRCH)
    expect(evtchnOp(g, 'reset', { dom: DOMID_SELF }).rc).toBe(0)
    expect(g.engine.openPorts()).toEqual([])
    expect(evtchnOp(g, 'bind_virq', { virq: VIRQ.TIMER, vcpu: 0 }).rc).toBe(0)
  })
})
