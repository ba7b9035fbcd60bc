// Kvm: the system fd (/dev/kvm). API version, capabilities, CPUID and MSR lists, VM creation.
import * as abi from './abi.js'
import { invalid, uint } from './args.js'
import { KvmError } from './errors.js'
import { loadNative, type NativeKvm, op } from './native.js'
import { Vm } from './vm.js'
import type { CpuidEntry } from './x86.js'
import { decodeCpuid, encodeCpuid } from './x86-codec.js'

/** The capabilities the report names (keys of Cap: KVM_CAP_* without the prefix). */
export const REPORTED_CAPABILITIES = [
  'IRQCHIP',
  'HLT',
  'USER_MEMORY',
  'SET_TSS_ADDR',
  'EXT_CPUID',
  'NR_VCPUS',
  'MAX_VCPUS',
  'MAX_VCPU_ID',
  'NR_MEMSLOTS',
  'PIT',
  'PIT2',
  'MP_STATE',
  'SYNC_MMU',
  'USER_NMI',
  'IRQ_ROUTING',
  'IRQ_INJECT_STATUS',
  'IRQFD',
  'IRQFD_RESAMPLE',
  'IOEVENTFD',
  'IOEVENTFD_ANY_LENGTH',
  'SET_IDENTITY_MAP_ADDR',
  'XEN_HVM',
  'ADJUST_CLOCK',
  'VCPU_EVENTS',
  'HYPERV',
  'HYPERV_SYNIC',
  'XSAVE',
  'TSC_CONTROL',
  'VM_TSC_CONTROL',
  'GET_TSC_KHZ',
  'TSC_DEADLINE_TIMER',
  'SIGNAL_MSI',
  'READONLY_MEM',
  'CHECK_EXTENSION_VM',
  'SPLIT_IRQCHIP',
  'X2APIC_API',
  'MSI_DEVID',
  'IMMEDIATE_EXIT',
] as const satisfies readonly abi.CapName[]

// KVM itself allows 256 entries (KVM_MAX_CPUID_ENTRIES); leave room for newer kernels without
// letting a caller ask for a buffer of gigabytes.
const MAX_CPUID_ENTRIES = 4096

/** A capability name of the report. */
export type CapabilityName = (typeof REPORTED_CAPABILITIES)[number]

/** Names of the KVM_CAP_XEN_HVM feature bits. */
export type XenHvmFeature = keyof typeof abi.KVM_XEN_HVM_CONFIG_FLAGS

/** What the kernel offers, as plain JSON-able data (for `tsvmm caps`). */
export interface CapabilityReport {
  /** KVM_GET_API_VERSION (always 12). */
  apiVersion: number
  /** KVM_GET_VCPU_MMAP_SIZE. */
  vcpuMmapSize: number
  /** KVM_CHECK_EXTENSION of each named capability (0: absent). */
  capabilities: Record<CapabilityName, number>
  /** KVM_CAP_XEN_HVM decoded: the raw bitmap and one boolean per feature. */
  xenHvm: {
    /** KVM_CHECK_EXTENSION(KVM_CAP_XEN_HVM): the raw KVM_XEN_HVM_CONFIG_* bitmap. */
    flags: number
    /** The same bitmap, one boolean per KVM_XEN_HVM_CONFIG_FLAGS name. */
    features: Record<XenHvmFeature, boolean>
  }
  /** The signal kvm-sys uses to kick vCPU threads out of KVM_RUN. */
  kickSignal: number
}

/** Decodes a KVM_CAP_XEN_HVM bitmap into one boolean per named feature. */
export function decodeXenHvmFlags(flags: number): Record<XenHvmFeature, boolean> {
  const out = {} as Record<XenHvmFeature, boolean>
  for (const [name, bit] of Object.entries(abi.KVM_XEN_HVM_CONFIG_FLAGS))
    out[name as XenHvmFeature] = (flags & bit) !== 0
  return out
}

/**
 * An open KVM device. One per process is plenty; VMs outlive it (closing it closes no VM).
 *
 * ```ts
 * const kvm = Kvm.open()
 * console.log(kvm.capabilities())
 * const vm = kvm.createVm()
 * ```
 */
export class Kvm {
  readonly #native: NativeKvm

  private constructor(native: NativeKvm) {
    this.#native = native
  }

  /**
   * Opens the KVM device and checks KVM_GET_API_VERSION is 12. Throws a KvmError: 'ENOENT'
   * (no /dev/kvm, with a hint), 'EACCES', 'ENOTTY' (not KVM), or 'EINVAL' for a path that is
   * not a string or holds a NUL byte (which would silently cut it short).
   */
  static open(path = '/dev/kvm'): Kvm {
    if (typeof path !== 'string' || path.length === 0 || path.includes('\0'))
      throw invalid('open', 'path', path, 'a non-empty string without NUL bytes')
    const kvm = new Kvm(loadNative().openKvm(path))
    const version = kvm.apiVersion()
    if (version !== abi.KVM_API_VERSION) {
      kvm.close()
      throw new KvmError(
        22,
        'KVM_GET_API_VERSION',
        `API version ${version}`,
        `kvm-sys needs KVM API ${abi.KVM_API_VERSION}`,
      )
    }
    return kvm
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.#native.closed
  }

  /** KVM_GET_API_VERSION. */
  apiVersion(): number {
    return this.#native.ioctl(op('KVM_GET_API_VERSION', 'system'))
  }

  /**
   * KVM_CHECK_EXTENSION on the system fd: 0 if absent, else 1 or a cap-specific value. `cap` is a
   * value of {@link abi.Cap} (any u32 is passed on: KVM answers 0 to what it does not know).
   */
  checkExtension(cap: abi.Cap | number): number {
    return this.#native.ioctl(
      op('KVM_CHECK_EXTENSION', 'system'),
      uint('KVM_CHECK_EXTENSION', 'cap', cap),
    )
  }

  /** KVM_GET_VCPU_MMAP_SIZE: the size of each vCPU's kvm_run mapping. */
  vcpuMmapSize(): number {
    return this.#native.ioctl(op('KVM_GET_VCPU_MMAP_SIZE', 'system'))
  }

  /** The named capabilities and the decoded KVM_CAP_XEN_HVM flags, as plain data. */
  capabilities(): CapabilityReport {
    const capabilities = {} as Record<CapabilityName, number>
    for (const name of REPORTED_CAPABILITIES)
      capabilities[name] = this.checkExtension(abi.Cap[name])
    const flags = capabilities.XEN_HVM
    return {
      apiVersion: this.apiVersion(),
      vcpuMmapSize: this.vcpuMmapSize(),
      capabilities,
      xenHvm: { flags, features: decodeXenHvmFlags(flags) },
      kickSignal: loadNative().kickSignal,
    }
  }

  /**
   * KVM_GET_SUPPORTED_CPUID: the CPUID leaves KVM can expose (room for `maxEntries`, 1 to
   * MAX_CPUID_ENTRIES; KVM says E2BIG when they do not fit).
   */
  getSupportedCpuid(maxEntries = 256): CpuidEntry[] {
    const n = uint('KVM_GET_SUPPORTED_CPUID', 'maxEntries', maxEntries)
    if (n < 1 || n > MAX_CPUID_ENTRIES)
      throw invalid('KVM_GET_SUPPORTED_CPUID', 'maxEntries', n, `in 1..${MAX_CPUID_ENTRIES}`)
    const b = encodeCpuid(n)
    this.#native.ioctl(op('KVM_GET_SUPPORTED_CPUID', 'system'), b)
    return decodeCpuid(b)
  }

  /** KVM_GET_MSR_INDEX_LIST: the MSRs KVM saves and restores (grows its buffer on E2BIG). */
  getMsrIndexList(): number[] {
    let room = 256
    for (;;) {
      const b = new Uint8Array(abi.kvm_msr_list.size + 4 * room)
      const v = new DataView(b.buffer)
      v.setUint32(abi.kvm_msr_list.nmsrs, room, true)
      try {
        this.#native.ioctl(op('KVM_GET_MSR_INDEX_LIST', 'system'), b)
      } catch (e) {
        const needed = v.getUint32(abi.kvm_msr_list.nmsrs, true)
        if (e instanceof KvmError && e.code === 'E2BIG' && needed > room) {
          room = needed
          continue
        }
        throw e
      }
      const n = v.getUint32(abi.kvm_msr_list.nmsrs, true)
      return Array.from({ length: n }, (_, i) =>
        v.getUint32(abi.kvm_msr_list.indices + 4 * i, true),
      )
    }
  }

  /** KVM_CREATE_VM (type 0: the default x86 VM). */
  createVm(type = 0): Vm {
    return Vm.wrap(this.#native.createVm(uint('KVM_CREATE_VM', 'type', type)))
  }

  /** Closes /dev/kvm. VMs created from it stay usable. Idempotent. */
  close(): void {
    this.#native.close()
  }
}
