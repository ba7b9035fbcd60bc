import { describe, expect, it } from 'vitest'
import { baselineCpuid, LEAF1_ECX } from '../../src/vcpu/cpu-model.js'
import { vcpuCpuid } from '../../src/xen/cpuid.js'

const e = (fn: number, eax: number, ebx = 0, ecx = 0, edx = 0, index = 0) => ({
  function: fn,
  index,
  flags: 0,
  eax,
  ebx,
  ecx,
  edx,
})
// A host like the emulated one: AMD, XSAVE, PCID, leaf 7 features, KVM's own leaves.
const AMD = { ebx: 0x68747541, ecx: 0x444d4163, edx: 0x69746e65 }
const host = [
  e(0, 0x10, AMD.ebx, AMD.ecx, AMD.edx),
  e(1, 0x00a00f11, 0x00000800, 0xfefa3203 | (1 << 26) | (1 << 27) | (1 << 17), 0x178bfbff),
  e(6, 4, 0, 0, 0),
  e(7, 0, 0xf1bf97a9, 0x00405f4e | (1 << 16), 0x10),
  e(0xd, 0x207, 0x340, 0x988, 0),
  e(0xd, 0x340, 0x240, 0, 0, 1),
  e(0x10, 0, 0, 0, 0),
  e(0x40000000, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d),
  e(0x80000000, 0x80000021, AMD.ebx, AMD.ecx, AMD.edx),
  e(0x80000001, 0x00a00f11, 0, 0x75c237ff, 0x2fd3fbff),
  e(0x80000008, 0x3030, 0x791ef257, 0, 0),
  e(0x8000000a, 1, 0x8000, 0, 0x1ebfbcff),
  e(0x80000021, 0x45, 0, 0, 0),
]

describe('qemu64-like CPU model', () => {
  const b = baselineCpuid(host)
  const leaf = (fn: number, index = 0) => b.find((x) => x.function === fn && x.index === index)
  it('keeps the host vendor, family and KVM leaves (vcpuCpuid swaps those for Xen)', () => {
    expect(leaf(0)).toMatchObject({ eax: 0xd, ebx: AMD.ebx, ecx: AMD.ecx, edx: AMD.edx })
    expect(leaf(1)?.eax).toBe(0x00a00f11)
    expect(leaf(0x40000000)).toBeDefined()
  })
  it('drops XSAVE, OSXSAVE, AVX, PCID, leaf 7 features and leaf 0xd', () => {
    const ecx = leaf(1)?.ecx ?? -1
    for (const bit of [17, 26, 27, 28]) expect(ecx & (1 << bit)).toBe(0)
    expect((ecx & ~LEAF1_ECX) >>> 0).toBe(0)
    expect(ecx & 1).toBe(1) // SSE3
    expect(ecx & (1 << 13)).not.toBe(0) // CX16
    expect(leaf(7)).toMatchObject({ ebx: 0, ecx: 0, edx: 0 })
    expect(leaf(0xd)).toBeUndefined()
    expect(leaf(0xd, 1)).toBeUndefined()
    expect(leaf(0x10)).toBeUndefined()
  })
  it('keeps long mode, NX and SYSCALL, drops SVM and leaves above 0x80000008', () => {
    const x = leaf(0x80000001)
    expect(((x?.edx ?? 0) >>> 29) & 1).toBe(1)
    expect(((x?.edx ?? 0) >>> 20) & 1).toBe(1)
    expect(((x?.edx ?? 0) >>> 11) & 1).toBe(1)
    expect((x?.ecx ?? 0) & (1 << 2)).toBe(0)
    expect(leaf(0x80000000)?.eax).toBe(0x80000008)
    expect(leaf(0x8000000a)).toBeUndefined()
    expect(leaf(0x80000008)?.eax).toBe(0x3030)
  })
  it('composes with the Xen leaves and per-vCPU APIC ids', () => {
    const t = vcpuCpuid(b, 1, 2, {
      version: 0x4000a,
      tscKhz: 1000,
      domid: 1,
      perVcpuUpcallVector: true,
    })
    expect(t.find((x) => x.function === 0x40000000)?.ebx).toBe(0x566e6558)
    expect((t.find((x) => x.function === 1)?.ebx ?? 0) >>> 24).toBe(1)
    expect(((t.find((x) => x.function === 1)?.ecx ?? 0) >>> 31) & 1).toBe(1)
  })
})
