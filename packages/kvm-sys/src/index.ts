/**
 * KVM ioctls for x86 and Xen HVM with a typed face, modelled on rust-vmm's kvm-ioctls: one class
 * per file descriptor (Kvm, Vm, Vcpu), one method per ioctl, one error type. The ABI constants
 * and layouts are also on the pure entry point `@tsvmm/kvm-sys/abi`.
 *
 * @module @tsvmm/kvm-sys
 */
export * as abi from './abi.js'
export { Cap, type CapName } from './abi.js'
export { errnoName, isKvmError, KvmError } from './errors.js'
export { EventFd, type EventFdOptions, type FdLike } from './eventfd.js'
export {
  type CapabilityName,
  type CapabilityReport,
  decodeXenHvmFlags,
  Kvm,
  REPORTED_CAPABILITIES,
  type XenHvmFeature,
} from './kvm.js'
export {
  EXIT_REASON_NAMES,
  EXIT_UNRECOGNISED,
  type FailEntryExit,
  type InternalErrorExit,
  type IoapicEoiExit,
  type IoExit,
  isXenHcall,
  type KvmExit,
  KvmRun,
  type MmioExit,
  type PayloadFreeExit,
  type PayloadFreeExitReason,
  type SystemEventExit,
  type UnrecognisedExit,
  type XenHcallExit,
} from './kvm-run.js'
export { AddonLoadError } from './load-addon.js'
export { Vcpu } from './vcpu.js'
export { Vm } from './vm.js'
export type {
  ClockData,
  IoeventfdOptions,
  IrqfdOptions,
  MemoryRegion,
  MemoryRegionOptions,
  Msi,
  XenEvtchnSend,
  XenHvmConfig,
} from './vm-structs.js'
export type {
  CpuidEntry,
  DescriptorTable,
  Fpu,
  MsrEntry,
  Regs,
  Segment,
  Sregs,
} from './x86.js'
export type {
  XenEvtchnAssignment,
  XenHvmAttr,
  XenHvmAttrType,
  XenRunstate,
  XenVcpuAttr,
  XenVcpuAttrType,
} from './xen.js'

import { loadNative } from './native.js'

/** The signal kvm-sys sends a thread to kick its vCPU out of KVM_RUN (SIGRTMIN). */
export function kickSignal(): number {
  return loadNative().kickSignal
}
