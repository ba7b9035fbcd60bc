// The CPUID a tsvmm vCPU sees: what KVM supports, with this vCPU's APIC ID in the topology leaves
// and the hypervisor leaves replaced by Xen's (signature XenVMMXenVMM, version, hypercall page MSR,
// time, HVM features), as Xen's hypervisor_cpuid_leaves and QEMU's xen CPUID do.

import type { CpuidEntry } from '@tsvmm/kvm-sys'

/** One CPUID leaf (struct kvm_cpuid_entry2), as kvm-sys reads and writes it. */
export type { CpuidEntry }

/** KVM_CPUID_FLAG_SIGNIFCANT_INDEX: the leaf has sub-leaves. */
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1

/** Xen's CPUID base (no Viridian leaves in front of it). */
export const XEN_CPUID_BASE = 0x40000000
/** The MSR whose write installs the hypercall page (KVM_XEN_HVM_CONFIG.msr). */
export const XEN_HYPERCALL_MSR = 0x40000000
/** "XenV" "MMXe" "nVMM". */
export const XEN_SIGNATURE = { ebx: 0x566e6558, ecx: 0x65584d4d, edx: 0x4d4d566e } as const
/** Leaf base+4 EAX flags (xen/include/public/arch-x86/cpuid.h). */
export const XEN_HVM_CPUID = {
  VCPU_ID_PRESENT: 1 << 3,
  DOMID_PRESENT: 1 << 4,
  UPCALL_VECTOR: 1 << 6,
} as const

/** What the Xen leaves say. */
export interface XenCpuidOptions {
  /** Xen version, major << 16 | minor. */
  version: number
  /** The guest's TSC frequency in kHz (0 if unknown). */
  tscKhz: number
  /** This domain's id. */
  domid: number
  /** Whether HVMOP_set_evtchn_upcall_vector is offered. */
  perVcpuUpcallVector: boolean
}

/** The Xen leaves base+0 .. base+4 for Xen vCPU `vcpu`. */
export function xenLeaves(o: XenCpuidOptions, vcpu: number): CpuidEntry[] {
  const b = XEN_CPUID_BASE
  const leaf = (fn: number, eax: number, ebx = 0, ecx = 0, edx = 0, index = 0, flags = 0) => ({
    function: fn,
    index,
    flags,
    eax: eax >>> 0,
    ebx: ebx >>> 0,
    ecx: ecx >>> 0,
    edx: edx >>> 0,
  })
  const sig = KVM_CPUID_FLAG_SIGNIFCANT_INDEX
  let hvmFlags = XEN_HVM_CPUID.VCPU_ID_PRESENT | XEN_HVM_CPUID.DOMID_PRESENT
  if (o.perVcpuUpcallVector) hvmFlags |= XEN_HVM_CPUID.UPCALL_VECTOR
  return [
    leaf(b, b + 4, XEN_SIGNATURE.ebx, XEN_SIGNATURE.ecx, XEN_SIGNATURE.edx),
    leaf(b + 1, o.version),
    // One hypercall page, installed by writing its GPA to the MSR.
    leaf(b + 2, 1, XEN_HYPERCALL_MSR),
    // Time: sub-leaf 0 ECX is the guest TSC frequency in kHz; sub-leaf 2 ECX the host's.
    leaf(b + 3, 0, 0, o.tscKhz, 0, 0, sig),
    leaf(b + 3, 0, 0, 0, 0, 1, sig),
    leaf(b + 3, 0, 0, o.tscKhz, 0, 2, sig),
    leaf(b + 4, hvmFlags, vcpu, o.domid),
  ]
}

/**
 * The CPUID table of vCPU `vcpu` (APIC ID = vcpu) out of `supported` (KVM_GET_SUPPORTED_CPUID):
 * KVM's own hypervisor leaves are dropped for Xen's, the hypervisor bit is set, and the
 * topology leaves carry this vCPU's APIC ID.
 */
export function vcpuCpuid(
  supported: readonly CpuidEntry[],
  vcpu: number,
  vcpus: number,
  xen: XenCpuidOptions,
): CpuidEntry[] {
  const out: CpuidEntry[] = []
  for (const e of supported) {
    if (e.function >= 0x40000000 && e.function < 0x50000000) continue
    const c = { ...e }
    switch (c.function) {
      case 1:
        // Initial APIC ID, logical processor count, CPUID.1:ECX.hypervisor.
        c.ebx = ((c.ebx & 0x0000ffff) | ((vcpus & 0xff) << 16) | ((vcpu & 0xff) << 24)) >>> 0
        c.ecx = (c.ecx | (1 << 31)) >>> 0
        c.edx = (c.edx | (1 << 28)) >>> 0 // HTT: the count above is valid
        break
      case 0xb:
      case 0x1f:
        c.edx = vcpu >>> 0 // x2APIC ID
        break
    }
    out.push(c)
  }
  out.push(...xenLeaves(xen, vcpu))
  return out
}
