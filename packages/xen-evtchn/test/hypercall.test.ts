// Hypercall argument handling: whole-struct copies, -EFAULT, -ENOSYS, write-back on success only,
// register values as number or bigint, and the vcpu_op commands the engine owns.
import { describe, expect, it } from 'vitest'
import { DOMID_SELF, EVTCHNOP, EVTCHNOP_ARGS, VCPUOP } from '../src/index.js'
import { ARG, bindIpi, evtchnOp, makeGuest, RAM_SIZE, SHINFO } from './helpers.js'

const EFAULT = -14
const ENOSYS = -38
const EINVAL = -22
const ENOENT = -2

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('event_channel_op arguments, %s guest', (_, longMode) => {
  it('returns -EFAULT when any byte of the struct is outside guest RAM, and does nothing', () => {
    const g = makeGuest(longMode)
    for (const [name, layout] of Object.entries(EVTCHNOP_ARGS)) {
      if (name === 'bind_pirq') continue
      const cmd = EVTCHNOP[name as keyof typeof EVTCHNOP]
      // The last byte of the struct is one past the end of RAM.
      const gpa = RAM_SIZE - layout.size + 1
      expect(g.engine.hypercall(cmd, gpa, 0), name).toBe(EFAULT)
      expect(g.engine.hypercall(cmd, RAM_SIZE - layout.size, 0), name).not.toBe(EFAULT)
    }
    for (const gpa of [-1, 2 ** 53, 2n ** 64n - 1n, 1.5])
      expect(g.engine.hypercall(EVTCHNOP.send, gpa, 0)).toBe(EFAULT)
  })

  it('returns -ENOSYS for FIFO ops, bind_pirq and unknown commands, without reading the argument', () => {
    const g = makeGuest(longMode)
    for (const cmd of [
      EVTCHNOP.init_control,
      EVTCHNOP.expand_array,
      EVTCHNOP.set_priority,
      EVTCHNOP.reset_cont,
      EVTCHNOP.bind_pirq,
      15,
      1000,
      -1,
      2n ** 64n - 1n,
    ])
      expect(g.engine.hypercall(cmd, 2 ** 52, 0)).toBe(ENOSYS)
  })

  it('accepts register values as bigint', () => {
    const g = makeGuest(longMode)
    g.memory.writeU32(ARG, 0)
    g.memory.writeU32(ARG + 4, 0)
    expect(g.engine.hypercall(BigInt(EVTCHNOP.bind_ipi), BigInt(ARG), 0)).toBe(0)
    expect(g.memory.readU32(ARG + 4)).toBe(1)
  })

  it('writes results back only on success and leaves the input fields as they were', () => {
    const g = makeGuest(longMode)
    g.memory.fill(ARG, 16, 0xee)
    g.memory.writeU32(ARG, 9) // bind_ipi vcpu 9: -ENOENT
    expect(g.engine.hypercall(EVTCHNOP.bind_ipi, ARG, 0)).toBe(ENOENT)
    expect(g.memory.readU32(ARG + 4)).toBe(0xeeeeeeee)
    g.memory.writeU32(ARG, 1)
    expect(g.engine.hypercall(EVTCHNOP.bind_ipi, ARG, 0)).toBe(0)
    expect(g.memory.readU32(ARG)).toBe(1)
    expect(g.memory.readU32(ARG + 4)).toBe(1)
    expect(g.memory.readU32(ARG + 8)).toBe(0xeeeeeeee) // past the 8-byte struct
  })

  it('reads u16 domain fields as u16 (upper bytes belong to the next field)', () => {
    const g = makeGuest(longMode)
    // alloc_unbound { dom = DOMID_SELF, remote_dom = DOMID_SELF }: both u16, packed.
    g.memory.writeU32(ARG, DOMID_SELF | (DOMID_SELF << 16))
    expect(g.engine.hypercall(EVTCHNOP.alloc_unbound, ARG, 0)).toBe(0)
    expect(g.memory.readU32(ARG + 4)).toBe(1)
  })

  it('returns -EINVAL for a caller that is not a vCPU', () => {
    const g = makeGuest(longMode)
    expect(g.engine.hypercall(EVTCHNOP.send, ARG, 4)).toBe(EINVAL)
  })

  it('a send hypercall copies the struct once: the port is the one read at entry', () => {
    const g = makeGuest(longMode)
    const p = bindIpi(g, 0)
    expect(evtchnOp(g, 'send', { port: p }).rc).toBe(0)
    expect(g.view.pending(p)).toBe(true)
  })
})

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('vcpu_op, %s guest', (_, longMode) => {
  it('register_vcpu_info: moves the vcpu_info, keeps its contents, forces a rescan', () => {
    const g = makeGuest(longMode)
    g.engine.setPending(5, 1)
    g.notified.length = 0
    const newGpa = 0x40040
    g.memory.writeU64(ARG, BigInt(newGpa >> 12))
    g.memory.writeU32(ARG + 8, newGpa & 0xfff)
    g.memory.writeU32(ARG + 12, 0)
    expect(g.engine.vcpuOp(VCPUOP.register_vcpu_info, 1, ARG, 1)).toBe(0)
    expect(g.engine.vcpuInfo(1)).toBe(newGpa)
    expect(g.view.upcall(1, newGpa)).toBe(1)
    const all = longMode ? 0xffff_ffff_ffff_ffffn : 0xffff_ffffn
    expect(g.view.selector(1, newGpa)).toBe(all)
    expect(g.notified).toEqual([1])
    // Deliveries now go to the new place.
    g.view.consume(1, newGpa)
    expect(g.engine.setPending(6, 1)).toBe(1)
    expect(g.view.selector(1, newGpa)).toBe(1n)
    // Only once per vCPU.
    expect(g.engine.vcpuOp(VCPUOP.register_vcpu_info, 1, ARG, 1)).toBe(EINVAL)
  })

  it('register_vcpu_info: may target another vCPU; rejects bad placement', () => {
    const g = makeGuest(longMode)
    const reg = (vcpu: number, gfn: bigint, offset: number) => {
      g.memory.writeU64(ARG, gfn)
      g.memory.writeU32(ARG + 8, offset)
      return g.engine.vcpuOp(VCPUOP.register_vcpu_info, vcpu, ARG, 0)
    }
    expect(reg(2, 0x41n, 0xfc8)).toBe(EINVAL) // crosses the page
    expect(reg(2, 0x41n, 0x4)).toBe(EINVAL) // misaligned
    expect(reg(2, 0x1000n, 0)).toBe(EINVAL) // outside RAM
    expect(reg(2, 2n ** 63n, 0)).toBe(EINVAL)
    expect(reg(2, 0x41n, 0x1000)).toBe(EINVAL)
    expect(reg(9, 0x41n, 0)).toBe(ENOENT)
    expect(reg(2, 0x41n, 0)).toBe(0)
    expect(g.engine.vcpuInfo(2)).toBe(0x41000)
  })

  it('returns -ENOSYS for the vcpu_op commands the VMM serves', () => {
    const g = makeGuest(longMode)
    for (const cmd of [0, 1, 2, 3, 4, 5, 11, 12, 13, 99])
      expect(g.engine.vcpuOp(cmd, 0, ARG, 0)).toBe(ENOSYS)
  })

  it('returns -EFAULT for timer and vcpu_info arguments outside RAM', () => {
    const g = makeGuest(longMode)
    expect(g.engine.vcpuOp(VCPUOP.set_singleshot_timer, 0, RAM_SIZE - 8, 0)).toBe(EFAULT)
    expect(g.engine.vcpuOp(VCPUOP.set_periodic_timer, 0, RAM_SIZE - 4, 0)).toBe(EFAULT)
    expect(g.engine.vcpuOp(VCPUOP.register_vcpu_info, 0, RAM_SIZE - 8, 0)).toBe(EFAULT)
    // 32-bit guests' singleshot struct is 12 bytes (u64 aligned to 4): it fits where 16 would not.
    const rc = g.engine.vcpuOp(VCPUOP.set_singleshot_timer, 0, RAM_SIZE - 12, 0)
    expect(rc).toBe(longMode ? EFAULT : 0)
    expect(g.engine.sharedInfo).toBe(SHINFO)
  })
})
