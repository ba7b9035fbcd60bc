/**
 * Xen 2-level event channels in userspace: the EVTCHNOP port table, the hypercalls, vCPU timers
 * and delivery into shared_info. Pure: loads no native code. The kernel offload lives on the
 * separate entry point `@tsvmm/xen-evtchn/kvm`.
 *
 * @module @tsvmm/xen-evtchn
 */
export {
  EvtchnEngine,
  type EvtchnEngineOptions,
  type EvtchnObserver,
  type EvtchnRestoreOptions,
  type PortInfo,
} from './engine.js'
export { EvtchnError, errnoName, XenErrno, type XenErrnoName } from './errno.js'
export { GNTST, GNTTAB_ARGS, GNTTAB_RESERVED, GNTTABOP, GTF } from './grant-table-layout.js'
export type { RegisterValue } from './hypercall.js'
// Xen's numbers and layouts, the one home for them in tsvmm; the helpers behind them stay inside.
export {
  DOMID_BACKEND,
  DOMID_SELF,
  EVTCHNOP,
  EVTCHNOP_ARGS,
  EVTCHNSTAT,
  type EvtchnStat,
  GEOMETRY_32,
  GEOMETRY_64,
  HVM_PARAM,
  HVMOP,
  HYPERVISOR,
  NR_VIRQS,
  SCHEDOP,
  SHUTDOWN,
  type TwoLevelGeometry,
  VCPU_INFO_SIZE,
  VCPU_INFO_UPCALL_MASK,
  VCPU_INFO_UPCALL_PENDING,
  VCPU_SSHOTTMR_future,
  VCPUOP,
  VCPUOP_ARGS,
  VIRQ,
  XEN_LEGACY_MAX_VCPUS,
  XENFEAT,
  XENMAPSPACE,
  XENMEM,
  XENVER,
} from './layout.js'
export type { BackendHandler, Deliver, PortRecord, PortStatus } from './port-records.js'
export {
  type EvtchnSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  validateSnapshot,
} from './snapshot.js'
export { type EvtchnClock, monotonicClock, type TimerRecord, timeoutClock } from './timers.js'
export type { Notify } from './two-level.js'
