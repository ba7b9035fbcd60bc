import { describe, expect, it } from 'vitest'
import { type CpuidEntry, vcpuCpuid, XEN_SIGNATURE, xenLeaves } from '../../src/xen/cpuid.js'

const leaf = (fn: number, regs: Partial<CpuidEntry> = {}): CpuidEntry => ({
  function: fn,
  index: 0,
  flags: 0,
  eax: 0,
  ebx: 0,
  ecx: 0,
  edx: 0,
  ...regs,
})
const xen = { version: 0x4_0011, tscKhz: 2_000_000, domid: 1, perVcpuUpcallVector: true }

describe('Xen CPUID leaves', () => {
  it('present the XenVMMXenVMM signature, the version and the hypercall MSR', () => {
    const l = xenLeaves(xen, 3)
    const get = (fn: number, index = 0) => l.find((e) => e.function === fn && e.index === index)
    const sig = get(0x40000000)
    expect(sig).toMatchObject({ eax: 0x40000004, ...XEN_SIGNATURE })
    const text = Buffer.alloc(12)
    text.writeUInt32LE(sig?.ebx ?? 0, 0)
    text.writeUInt32LE(sig?.ecx ?? 0, 4)
    text.writeUInt32LE(sig?.edx ?? 0, 8)
    expect(text.toString('latin1')).toBe('XenVMMXenVMM')
    expect(get(0x40000001)?.eax).toBe(0x40011)
    expect(get(0x40000002)).toMatchObject({ eax: 1, ebx: 0x40000000 })
    expect(get(0x40000003)?.ecx).toBe(2_000_000)
    expect(get(0x40000004)).toMatchObject({ eax: (1 << 3) | (1 << 4) | (1 << 6), ebx: 3, ecx: 1 })
  })

  it('leave out the per-vCPU upcall vector flag when not offered', () => {
    const l = xenLeaves({ ...xen, perVcpuUpcallVector: false }, 0)
    expect((l.find((e) => e.function === 0x40000004)?.eax ?? 0) & (1 << 6)).toBe(0)
  })
})

describe('per-vCPU CPUID', () => {
  const supported = [
    leaf(0, { eax: 0xd }),
    leaf(1, { ebx: 0x00000800, ecx: 0x1 }),
    leaf(0xb, { index: 0, edx: 0 }),
    leaf(0x40000000, { eax: 0x40000001, ebx: 0x4b4d564b }),
    leaf(0x40000001, { eax: 0xffff }),
  ]
  it('replaces KVM leaves with Xen leaves and sets this vCPU APIC ID', () => {
    const t = vcpuCpuid(supported, 5, 8, xen)
    expect(t.filter((e) => e.function === 0x40000000)).toHaveLength(1)
    expect(t.find((e) => e.function === 0x40000000)?.ebx).toBe(XEN_SIGNATURE.ebx)
    const one = t.find((e) => e.function === 1)
    expect((one?.ebx ?? 0) >>> 24).toBe(5)
    expect(((one?.ebx ?? 0) >>> 16) & 0xff).toBe(8)
    expect((one?.ebx ?? 0) & 0xffff).toBe(0x0800)
    expect((one?.ecx ?? 0) >>> 31).toBe(1)
    expect(t.find((e) => e.function === 0xb)?.edx).toBe(5)
    expect(t.find((e) => e.function === 0x40000004)?.ebx).toBe(5)
    // The input is left alone.
    expect(supported[1]?.ebx).toBe(0x800)
  })
})
