// Helpers of the KVM suites: guest setup (real mode, long mode with test-built page tables),
// a GSI routing encoder, and the process's fd count. Guest code is hand-assembled bytes.
import { readdirSync } from 'node:fs'
import * as abi from '../../src/abi.js'
import type { CpuidEntry, Segment, Sregs, Vcpu } from '../../src/index.js'

/** Number of open file descriptors of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length
}

/** Puts a vCPU in real mode at 0000:rip with flat zero-based segments. */
export function enterRealMode(vcpu: Vcpu, rip = 0x1000): void {
  const s = vcpu.getSregs()
  for (const n of ['cs', 'ds', 'es', 'ss', 'fs', 'gs'] as const)
    s[n] = { ...s[n], base: 0n, selector: 0 }
  vcpu.setSregs(s)
  vcpu.setRegs({ ...vcpu.getRegs(), rip: BigInt(rip), rflags: 0x2n, rsp: 0x7000n })
}

const PML4 = 0x10000
const PDPT = 0x11000
const PD = 0x12000
const GDT = 0x500

/**
 * Builds identity-mapped page tables for the first 1 GiB (2 MiB pages) and a GDT in `ram`, and
 * enters 64-bit mode at `rip` through KVM_SET_SREGS. `ram` must cover 0x13000.
 *
 * `cpuid` (KVM_GET_SUPPORTED_CPUID's table) is set first, as a VMM does: newer kernels (Debian
 * 13's 6.12) check EFER against the guest's CPUID in KVM_SET_SREGS (kvm_is_valid_sregs ends with
 * kvm_valid_efer), so EFER.LME|LMA on a vCPU whose CPUID lacks 80000001H:EDX.LM is EINVAL.
 */
export function enterLongMode(
  vcpu: Vcpu,
  ram: Uint8Array,
  cpuid: readonly CpuidEntry[],
  rip = 0x1000,
): void {
  vcpu.setCpuid2(cpuid)
  const v = new DataView(ram.buffer, ram.byteOffset, ram.byteLength)
  v.setBigUint64(PML4, BigInt(PDPT | 3), true)
  v.setBigUint64(PDPT, BigInt(PD | 3), true)
  for (let i = 0; i < 512; i++) v.setBigUint64(PD + 8 * i, (BigInt(i) << 21n) | 0x83n, true)
  v.setBigUint64(GDT + 8, 0x00af9a000000ffffn, true) // 64-bit code
  v.setBigUint64(GDT + 16, 0x00cf92000000ffffn, true) // data
  const code: Segment = {
    base: 0n,
    limit: 0xffffffff,
    selector: 8,
    type: 11,
    present: 1,
    dpl: 0,
    db: 0,
    s: 1,
    l: 1,
    g: 1,
    avl: 0,
    unusable: 0,
  }
  const data: Segment = { ...code, selector: 16, type: 3, db: 1, l: 0 }
  const s: Sregs = vcpu.getSregs()
  s.cs = code
  for (const n of ['ds', 'es', 'ss', 'fs', 'gs'] as const) s[n] = data
  s.gdt = { base: BigInt(GDT), limit: 23 }
  s.cr3 = BigInt(PML4)
  s.cr4 = 1n << 5n // PAE
  s.cr0 = 0x80000011n // PG | ET | PE
  s.efer = 0x500n // LMA | LME
  vcpu.setSregs(s)
  vcpu.setRegs({ ...vcpu.getRegs(), rip: BigInt(rip), rflags: 0x2n, rsp: 0x8000n })
}

/** One entry of a GSI routing table (the union as raw u32 words after `u`). */
export interface RouteEntry {
  gsi: number
  type: number
  flags?: number
  /** Up to 8 u32 words of the union. */
  u: number[]
}

/** struct kvm_irq_routing with its entries. */
export function encodeRouting(entries: RouteEntry[]): Uint8Array {
  const { size: header } = abi.KVM_IRQ_ROUTING
  const e = abi.KVM_IRQ_ROUTING_ENTRY
  const b = new Uint8Array(header + entries.length * e.size)
  const v = new DataView(b.buffer)
  v.setUint32(abi.KVM_IRQ_ROUTING.nr, entries.length, true)
  entries.forEach((x, i) => {
    const at = abi.KVM_IRQ_ROUTING.entries + i * e.size
    v.setUint32(at + e.gsi, x.gsi, true)
    v.setUint32(at + e.type, x.type, true)
    v.setUint32(at + e.flags, x.flags ?? 0, true)
    x.u.forEach((w, j) => {
      v.setUint32(at + e.u + 4 * j, w >>> 0, true)
    })
  })
  return b
}

/** Sleeps the thread (the guest and the kernel keep running). */
export function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/** Polls `cond` until it holds or `limitMs` passes; returns its last value. */
export function waitFor(cond: () => boolean, limitMs = 5000): boolean {
  const end = Date.now() + limitMs
  while (!cond()) {
    if (Date.now() > end) return false
    sleep(5)
  }
  return true
}
