// The 2-level delivery rules of evtchn-semantics.md, each in 64-bit and 32-bit mode.
import { GuestMemory } from '@tsvmm/guest-memory'
import { describe, expect, it } from 'vitest'
import { EvtchnEngine, EvtchnError, GEOMETRY_32, GEOMETRY_64 } from '../src/index.js'
import { bindIpi, evtchnOp, type Guest, makeGuest, SHINFO, VCPUS } from './helpers.js'

const EINVAL = -22
const ENOTCONN = -107

function page(g: Guest): Uint8Array {
  return g.memory.read(SHINFO, 0x1000)
}

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('set_pending, %s guest', (_, longMode) => {
  const limit = longMode ? 4096 : 1024
  const wordBits = longMode ? 64 : 32

  it('delivers: pending bit, selector bit, upcall_pending, one notify; returns 1', () => {
    const g = makeGuest(longMode)
    const port = 100
    expect(g.engine.setPending(port, 2)).toBe(1)
    expect(g.view.pending(port)).toBe(true)
    expect(g.view.selector(2)).toBe(1n << BigInt(Math.floor(port / wordBits)))
    expect(g.view.upcall(2)).toBe(1)
    expect(g.notified).toEqual([2])
    // Pending bit p lives at byte 0x800 + p/8, bit p%8, in both modes.
    expect(g.memory.readU8(SHINFO + 0x800 + (port >> 3))).toBe(1 << (port & 7))
  })

  it('puts the selector where the ABI says: u64 at +8 (64-bit) or u32 at +4 (32-bit)', () => {
    const g = makeGuest(longMode)
    const port = limit - 1
    g.engine.setPending(port, 1)
    const vi = SHINFO + 64
    if (longMode) {
      expect(g.memory.readU64(vi + 8)).toBe(1n << 63n)
      expect(g.memory.readU32(vi + 4)).toBe(0)
    } else {
      expect(g.memory.readU32(vi + 4)).toBe(0x80000000)
      expect(g.memory.readU64(vi + 8)).toBe(0n)
    }
  })

  it('rejects port 0 and ports at or above the mode limit with -EINVAL, writing nothing', () => {
    const g = makeGuest(longMode)
    const before = page(g)
    for (const port of [0, -1, limit, limit + 1, 1.5, Number.NaN, 2 ** 32 + 1])
      expect(g.engine.setPending(port, 0)).toBe(EINVAL)
    expect(page(g)).toEqual(before)
    expect(g.notified).toEqual([])
    expect(g.engine.setPending(limit - 1, 0)).toBe(1)
  })

  it('rejects an unknown vCPU with -EINVAL, writing nothing', () => {
    const g = makeGuest(longMode)
    const before = page(g)
    for (const vcpu of [-1, VCPUS, 0.5, 1000]) expect(g.engine.setPending(5, vcpu)).toBe(EINVAL)
    expect(page(g)).toEqual(before)
  })

  it('is an error with no shared_info, writing nothing', () => {
    const sab = new SharedArrayBuffer(0x20000)
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(sab) }])
    const notified: number[] = []
    const engine = new EvtchnEngine({ memory, vcpus: 1, longMode, notify: (v) => notified.push(v) })
    engine.setVcpuInfo(0, SHINFO)
    expect(engine.setPending(5, 0)).toBe(EINVAL)
    expect(memory.read(0, 0x20000).every((b) => b === 0)).toBe(true)
    expect(notified).toEqual([])
  })

  it('coalesces: an already pending port returns 0 and writes and notifies nothing', () => {
    const g = makeGuest(longMode)
    g.engine.setPending(7, 0)
    // The guest consumed selector and upcall but not yet the pending bit.
    g.view.consume(0)
    g.notified.length = 0
    const before = page(g)
    expect(g.engine.setPending(7, 0)).toBe(0)
    expect(page(g)).toEqual(before)
    expect(g.notified).toEqual([])
  })

  it('masked: -ENOTCONN, the pending bit stays set, selector and upcall untouched', () => {
    const g = makeGuest(longMode)
    g.view.mask(9)
    expect(g.engine.setPending(9, 1)).toBe(ENOTCONN)
    expect(g.view.pending(9)).toBe(true)
    expect(g.view.selector(1)).toBe(0n)
    expect(g.view.upcall(1)).toBe(0)
    expect(g.notified).toEqual([])
    // Now already pending: coalesced.
    expect(g.engine.setPending(9, 1)).toBe(0)
  })

  it('uses the mask base of the mode (0xA00 / 0x880)', () => {
    const g = makeGuest(longMode)
    const base = longMode ? 0xa00 : 0x880
    g.memory.writeU8(SHINFO + base + 1, 1) // mask port 8
    expect(g.engine.setPending(8, 0)).toBe(ENOTCONN)
    const other = longMode ? 0x880 : 0xa00
    g.memory.writeU8(SHINFO + other + 2, 1) // the other mode's mask for port 16: ignored
    expect(g.engine.setPending(16, 0)).toBe(1)
  })

  it('selector bit already set: returns 1 and does nothing more', () => {
    const g = makeGuest(longMode)
    expect(g.engine.setPending(1, 0)).toBe(1)
    // The guest cleared upcall_pending but not the selector.
    g.memory.writeU8(g.view.vcpuInfo(0), 0)
    g.notified.length = 0
    expect(g.engine.setPending(2, 0)).toBe(1) // same selector word as port 1
    expect(g.view.pending(2)).toBe(true)
    expect(g.view.upcall(0)).toBe(0)
    expect(g.notified).toEqual([])
  })

  it('no second notify while upcall_pending is already 1', () => {
    const g = makeGuest(longMode)
    expect(g.engine.setPending(1, 3)).toBe(1)
    expect(g.engine.setPending(wordBits + 1, 3)).toBe(1) // a new selector word
    expect(g.view.selector(3)).toBe(0b11n)
    expect(g.notified).toEqual([3])
  })

  it('notifies again after the guest cleared upcall_pending and the selector', () => {
    const g = makeGuest(longMode)
    g.engine.setPending(1, 0)
    g.view.consume(0)
    g.view.clearPending(1)
    expect(g.engine.setPending(1, 0)).toBe(1)
    expect(g.notified).toEqual([0, 0])
  })

  it('leaves the other bytes of the upcall word alone', () => {
    const g = makeGuest(longMode)
    const vi = g.view.vcpuInfo(0)
    g.memory.writeU8(vi + 1, 1) // evtchn_upcall_mask
    g.memory.writeU16(vi + 2, 0xabcd) // padding
    g.engine.setPending(3, 0)
    expect(g.memory.readU32(vi)).toBe(0xabcd0101)
  })

  it('vcpu_info not registered: pending set, selector kept aside, 1, no notify', () => {
    const g = makeGuest(longMode, { vcpuInfo: false })
    expect(g.engine.setPending(70, 1)).toBe(1)
    expect(g.view.pending(70)).toBe(true)
    expect(g.notified).toEqual([])
    // The engine never writes shared_info.vcpu_info[N] by itself.
    expect(g.memory.read(SHINFO, 64 * 32).every((b) => b === 0)).toBe(true)
    // Registering delivers the kept selector: ORed in, upcall set, one notify.
    const vi = 0x30000
    g.memory.writeU64(vi + 8, longMode ? 1n << 40n : 0n)
    if (!longMode) g.memory.writeU32(vi + 4, 1 << 20)
    g.engine.setVcpuInfo(1, vi)
    const word = BigInt(Math.floor(70 / wordBits))
    const kept = longMode ? 1n << 40n : 1n << 20n
    expect(g.view.selector(1, vi)).toBe(kept | (1n << word))
    expect(g.view.upcall(1, vi)).toBe(1)
    expect(g.notified).toEqual([1])
    // The shadow is cleared: registering again delivers nothing more.
    g.engine.setVcpuInfo(1, 0x30040)
    expect(g.notified).toEqual([1])
  })

  it('vcpu_info registered with nothing kept: no upcall, no notify', () => {
    const g = makeGuest(longMode, { vcpuInfo: false })
    g.engine.setVcpuInfo(0, 0x30000)
    expect(g.view.upcall(0, 0x30000)).toBe(0)
    expect(g.notified).toEqual([])
  })

  it('masked ports add nothing to the kept selector', () => {
    const g = makeGuest(longMode, { vcpuInfo: false })
    g.view.mask(5)
    expect(g.engine.setPending(5, 0)).toBe(ENOTCONN)
    g.engine.setVcpuInfo(0, 0x30000)
    expect(g.view.selector(0, 0x30000)).toBe(0n)
    expect(g.notified).toEqual([])
  })
})

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('unmask, %s guest', (_, longMode) => {
  it('EVTCHNOP_unmask raises on the vCPU the port is bound to, not the caller', () => {
    const g = makeGuest(longMode)
    const port = bindIpi(g, 2)
    g.view.mask(port)
    expect(evtchnOp(g, 'send', { port }).rc).toBe(0)
    expect(g.view.pending(port)).toBe(true)
    expect(g.notified).toEqual([])
    expect(evtchnOp(g, 'unmask', { port }, 0).rc).toBe(0)
    expect(g.view.masked(port)).toBe(false)
    expect(g.view.selector(2)).toBe(1n << g.view.word(port))
    expect(g.view.upcall(2)).toBe(1)
    expect(g.view.upcall(0)).toBe(0)
    expect(g.notified).toEqual([2])
    expect(evtchnOp(g, 'unmask', { port: 0 }).rc).toBe(EINVAL)
    expect(evtchnOp(g, 'unmask', { port: longMode ? 4096 : 1024 }).rc).toBe(EINVAL)
  })

  it('only a masked, pending port is raised; an unmasked port changes nothing', async () => {
    const { TwoLevel } = await import('../src/two-level.js')
    const sab = new SharedArrayBuffer(0x40000)
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(sab) }])
    const notified: number[] = []
    const two = new TwoLevel(
      memory,
      2,
      longMode,
      (v) => notified.push(v),
      () => {},
    )
    two.setSharedInfo(SHINFO)
    two.setVcpuInfo(0, SHINFO)
    two.setVcpuInfo(1, SHINFO + 64)
    const maskBase = SHINFO + (longMode ? 0xa00 : 0x880)

    // Not masked: nothing changes.
    const before = memory.read(SHINFO, 0x1000)
    expect(two.unmask(40, 1)).toBe(0)
    expect(memory.read(SHINFO, 0x1000)).toEqual(before)

    // Masked, not pending: only the mask bit is cleared.
    memory.testAndSetBit(maskBase, 40)
    expect(two.unmask(40, 1)).toBe(0)
    expect(memory.testBit(maskBase, 40)).toBe(false)
    expect(notified).toEqual([])

    // Masked and pending: mask cleared, selector and upcall of vCPU 1, notify.
    memory.testAndSetBit(maskBase, 40)
    expect(two.setPending(40, 0)).toBe(ENOTCONN)
    expect(two.unmask(40, 1)).toBe(0)
    expect(memory.testBit(maskBase, 40)).toBe(false)
    const sel = longMode ? memory.readU64(SHINFO + 64 + 8) : BigInt(memory.readU32(SHINFO + 64 + 4))
    expect(sel).toBe(1n << BigInt(Math.floor(40 / (longMode ? 64 : 32))))
    expect(memory.readU8(SHINFO + 64)).toBe(1)
    expect(notified).toEqual([1])
    expect(memory.readU8(SHINFO)).toBe(0) // vCPU 0 untouched

    // Selector already set: unmask of another masked pending port in that word, no notify.
    memory.testAndSetBit(maskBase, 41)
    expect(two.setPending(41, 1)).toBe(ENOTCONN)
    expect(two.unmask(41, 1)).toBe(0)
    expect(notified).toEqual([1])

    // Invalid port or vCPU.
    expect(two.unmask(1n as unknown as number, 0)).toBe(EINVAL)
    expect(two.unmask(1, 1n as unknown as number)).toBe(EINVAL)
    expect(two.unmask(0, 0)).toBe(EINVAL)
    expect(two.unmask(longMode ? 4096 : 1024, 0)).toBe(EINVAL)
    expect(two.unmask(1, 2)).toBe(EINVAL)
  })
})

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('unmask of a port that was not masked (M3), %s guest', (_, longMode) => {
  it('changes nothing even when the port is pending: Xen raises only on a mask bit it cleared', () => {
    const g = makeGuest(longMode)
    const port = bindIpi(g, 1)
    // Delivered, then the guest took the selector and cleared upcall_pending but has not yet
    // scanned the pending words: the port is pending, unmasked, with no selector bit.
    expect(evtchnOp(g, 'send', { port }).rc).toBe(0)
    expect(g.view.consume(1)).toBe(1n << g.view.word(port))
    g.notified.length = 0
    const before = page(g)
    expect(evtchnOp(g, 'unmask', { port }, 1).rc).toBe(0)
    expect(evtchnOp(g, 'unmask', { port }, 0).rc).toBe(0)
    expect(page(g)).toEqual(before)
    expect(g.view.selector(1)).toBe(0n)
    expect(g.view.upcall(1)).toBe(0)
    expect(g.notified).toEqual([])
    // The same port masked first is raised by the unmask.
    g.view.mask(port)
    expect(evtchnOp(g, 'unmask', { port }, 0).rc).toBe(0)
    expect(g.view.selector(1)).toBe(1n << g.view.word(port))
    expect(g.notified).toEqual([1])
  })
})

describe('mode switch', () => {
  it('changes limits, mask base and selector width', () => {
    const g = makeGuest(true)
    expect(g.engine.geometry).toBe(GEOMETRY_64)
    expect(g.engine.setPending(2000, 0)).toBe(1)
    g.engine.setLongMode(false)
    expect(g.engine.longMode).toBe(false)
    expect(g.engine.geometry).toBe(GEOMETRY_32)
    expect(g.engine.setPending(2001, 0)).toBe(EINVAL)
    g.memory.fill(SHINFO, 0x1000, 0)
    expect(g.engine.setPending(100, 1)).toBe(1)
    expect(g.memory.readU32(SHINFO + 64 + 4)).toBe(1 << 3)
    g.memory.writeU8(SHINFO + 0x880 + 13, 0x10) // mask port 108 in compat layout
    expect(g.engine.setPending(108, 1)).toBe(ENOTCONN)
  })

  it('keeps every kept selector word covered across a switch', () => {
    const g = makeGuest(true, { vcpuInfo: false })
    g.engine.setPending(100, 0) // 64-bit word 1
    g.engine.setLongMode(false) // 32-bit words 2 and 3 cover it
    g.engine.setVcpuInfo(0, 0x30000)
    expect(g.memory.readU32(0x30000 + 4)).toBe(0b1100)
    const h = makeGuest(false, { vcpuInfo: false })
    h.engine.setPending(100, 0) // 32-bit word 3
    h.engine.setLongMode(true) // 64-bit word 1
    h.engine.setVcpuInfo(0, 0x30000)
    expect(h.memory.readU64(0x30000 + 8)).toBe(0b10n)
  })
})

describe('configuration', () => {
  it('rejects bad shared_info and vcpu_info addresses with typed errors', () => {
    const g = makeGuest(true)
    const err = (f: () => void) => {
      try {
        f()
      } catch (e) {
        expect(e).toBeInstanceOf(EvtchnError)
        return (e as EvtchnError).code
      }
      return 'none'
    }
    expect(err(() => g.engine.setSharedInfo(SHINFO + 8))).toBe('EINVAL')
    expect(err(() => g.engine.setSharedInfo(0x100000))).toBe('EFAULT')
    expect(err(() => g.engine.setVcpuInfo(0, 0x1004))).toBe('EINVAL')
    expect(err(() => g.engine.setVcpuInfo(0, 0x1fc8))).toBe('EINVAL') // crosses a page
    expect(err(() => g.engine.setVcpuInfo(0, 0x100000))).toBe('EFAULT')
    expect(err(() => g.engine.setVcpuInfo(VCPUS, 0x1000))).toBe('EINVAL')
    // Still delivering to the old places.
    expect(g.engine.sharedInfo).toBe(SHINFO)
    expect(g.engine.setPending(1, 0)).toBe(1)
  })

  it('clearing shared_info stops delivery; clearing vcpu_info falls back to the shadow', () => {
    const g = makeGuest(true)
    g.engine.setVcpuInfo(0, null)
    expect(g.engine.setPending(1, 0)).toBe(1)
    expect(g.notified).toEqual([])
    g.engine.setSharedInfo(null)
    expect(g.engine.setPending(2, 0)).toBe(EINVAL)
  })

  it('reports notify exceptions to onError and keeps going', () => {
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x20000) }])
    const errors: unknown[] = []
    const engine = new EvtchnEngine({
      memory,
      vcpus: 1,
      notify: () => {
        throw new Error('vmm bug')
      },
      onError: (e) => errors.push(e),
    })
    engine.setSharedInfo(SHINFO)
    engine.setVcpuInfo(0, SHINFO)
    expect(engine.setPending(1, 0)).toBe(1)
    expect(errors).toHaveLength(1)
  })

  it('a detached guest buffer gives -EFAULT or EvtchnError, never a TypeError', () => {
    // kvm-sys detaches a region's ArrayBuffer when the VM closes; structuredClone does the same.
    const buffer = new ArrayBuffer(0x40000)
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(buffer) }])
    const engine = new EvtchnEngine({ memory, vcpus: 2, notify: () => {} })
    engine.setSharedInfo(SHINFO)
    engine.setVcpuInfo(0, SHINFO)
    const ipi = evtchnOp({ engine, memory }, 'bind_ipi', { vcpu: 0 }).out('port')
    structuredClone(buffer, { transfer: [buffer] })
    expect(buffer.byteLength).toBe(0)
    expect(engine.setPending(5, 0)).toBe(-14)
    expect(engine.setPending(5, 1)).toBe(-14)
    expect(engine.guestSend(ipi)).toBe(0) // a send returns 0 whatever the delivery code
    expect(engine.raiseVirq(0, 0)).toBe(-2)
    expect(engine.hypercall(3, 0x20000, 0)).toBe(-14) // the argument cannot be copied either
    const info = engine.portInfo(ipi)
    expect([info.pending, info.masked]).toEqual([false, false])
    expect(() => engine.snapshot()).not.toThrow()
    for (const f of [
      () => engine.setVcpuInfo(1, SHINFO + 64),
      () => engine.setSharedInfo(SHINFO + 0x1000),
    ]) {
      expect(f).toThrow(EvtchnError)
      expect(f).toThrow(/EFAULT/)
    }
  })

  it('backing memory that cannot hold 32-bit lanes: EvtchnError EFAULT, not GuestMemoryError', () => {
    // A region whose bytes start at an odd buffer offset has no aligned Int32Array lanes.
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(new ArrayBuffer(0x40001), 1) }])
    const engine = new EvtchnEngine({ memory, vcpus: 1, notify: () => {} })
    for (const f of [() => engine.setSharedInfo(SHINFO), () => engine.setVcpuInfo(0, SHINFO)]) {
      try {
        f()
        expect.unreachable('accepted')
      } catch (e) {
        expect(e).toBeInstanceOf(EvtchnError)
        expect((e as EvtchnError).errno).toBe(-14)
        expect((e as EvtchnError).code).toBe('EFAULT')
      }
    }
  })

  it('BigInt or non-integer vCPU and port arguments are typed errors, never "Cannot mix BigInt"', () => {
    const g = makeGuest(true)
    const big = 1n as unknown as number
    expect(g.engine.setPending(big, 0)).toBe(EINVAL)
    expect(g.engine.setPending(1, big)).toBe(EINVAL)
    expect(g.engine.setPending(1, 0.5)).toBe(EINVAL)
    expect(g.engine.hypercall(3, 0x20000, big)).toBe(EINVAL)
    expect(g.engine.setTimerOp(big, 5n)).toBe(EINVAL)
    expect(g.engine.vcpuOp(6, 0, 0x20000, big)).toBe(EINVAL)
    expect(() => g.engine.setVcpuInfo(big, SHINFO)).toThrow(EvtchnError)
    expect(() => g.engine.setSharedInfo(BigInt(SHINFO) as unknown as number)).toThrow(EvtchnError)
    expect(() => g.engine.setLongMode(1 as unknown as boolean)).toThrow(EvtchnError)
    expect(g.engine.longMode).toBe(true)
  })

  it('works on plain (non-shared) memory too', () => {
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x20000) }])
    const engine = new EvtchnEngine({ memory, vcpus: 1, notify: () => {} })
    engine.setSharedInfo(SHINFO)
    engine.setVcpuInfo(0, SHINFO)
    expect(engine.setPending(64, 0)).toBe(1)
    expect(memory.readU64(SHINFO + 8)).toBe(2n)
  })
})
