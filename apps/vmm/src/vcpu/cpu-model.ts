// The CPU model a Linux guest sees: a qemu64-like baseline cut out of KVM_GET_SUPPORTED_CPUID.
// In the emulated KVM host (nested SVM under TCG) about 1 boot in 5 hung with QEMU's -cpu host
// and 19 of 20 booted with -cpu qemu64 (shared/nested-kvm/l2xen): XSAVE state sizes the nested
// host reports are inconsistent, and PCID, 5-level paging and the leaf-7 extensions add nothing a
// boot needs. The vendor stays the host's, because it decides whether Linux's hypercall page
// uses vmcall or vmmcall; family/model/stepping and the brand string stay too.
// The bits are QEMU's qemu64 (target/i386/cpu.c: PPRO_FEATURES + MTRR, CLFLUSH, MCA, PSE36;
// SSE3, CX16; LM, SYSCALL, NX; LAHF_LM) plus what QEMU adds under KVM: x2APIC, TSC-deadline
// and the hypervisor bit. SVM is not passed on.
import type { CpuidEntry } from '@tsvmm/kvm-sys'

const bits = (...b: number[]) => b.reduce((m, x) => (m | (1 << x)) >>> 0, 0)

/** CPUID.1:EDX kept: FPU DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV PAT PSE36 CLFLUSH MMX FXSR SSE SSE2 HTT. */
export const LEAF1_EDX = bits(
  0,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  11,
  12,
  13,
  14,
  15,
  16,
  17,
  19,
  23,
  24,
  25,
  26,
  28,
)
/** CPUID.1:ECX kept: SSE3 CX16 x2APIC TSC-deadline hypervisor (no XSAVE/OSXSAVE/AVX, no PCID). */
export const LEAF1_ECX = bits(0, 13, 21, 24, 31)
/** CPUID.80000001h:EDX kept: the leaf-1 aliases AMD mirrors, SYSCALL, NX, LM. */
export const EXT1_EDX = (LEAF1_EDX & ~bits(28)) | bits(11, 20, 29)
/** CPUID.80000001h:ECX kept: LAHF_LM. */
export const EXT1_ECX = bits(0)
/** Highest basic leaf offered (qemu64's level) and highest extended leaf (address sizes). */
export const MAX_BASIC_LEAF = 0xd
export const MAX_EXT_LEAF = 0x80000008

/** Leaves dropped entirely: XSAVE state (0xd) and everything that only describes dropped features. */
const DROPPED = new Set([0xd, 0x14, 0x19])

/** The qemu64-like baseline of `supported`; the hypervisor leaves pass through for vcpuCpuid. */
export function baselineCpuid(supported: readonly CpuidEntry[]): CpuidEntry[] {
  const out: CpuidEntry[] = []
  const maxBasic = Math.min(MAX_BASIC_LEAF, supported.find((e) => e.function === 0)?.eax ?? 0)
  const maxExt = Math.min(
    MAX_EXT_LEAF,
    supported.find((e) => e.function === 0x80000000)?.eax ?? 0x80000000,
  )
  for (const e of supported) {
    const f = e.function
    const c = { ...e }
    if (f >= 0x40000000 && f < 0x50000000) {
      out.push(c)
      continue
    }
    if (f < 0x80000000 && (f > maxBasic || DROPPED.has(f))) continue
    if (f >= 0x80000000 && f > maxExt) continue
    switch (f) {
      case 0:
        c.eax = maxBasic
        break
      case 1:
        c.ecx = (c.ecx & LEAF1_ECX) >>> 0
        c.edx = (c.edx & LEAF1_EDX) >>> 0
        break
      case 6:
      case 7:
        // Thermal/power and the structured extended features: none (no SMEP/SMAP/PKU/LA57/INVPCID).
        c.eax = 0
        c.ebx = 0
        c.ecx = 0
        c.edx = 0
        break
      case 0x80000000:
        c.eax = maxExt
        break
      case 0x80000001:
        c.ecx = (c.ecx & EXT1_ECX) >>> 0
        c.edx = (c.edx & EXT1_EDX) >>> 0
        break
      case 0x80000007:
        c.eax = 0
        c.ebx = 0
        c.ecx = 0
        c.edx = 0
        break
      case 0x80000008:
        // Address sizes stay; the speculation-control feature bits in EBX go.
        c.ebx = 0
        break
    }
    out.push(c)
  }
  return out
}
