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
  type EvtchnRestoreOptions,
  type PortInfo,
} from './engine.js'
export { EvtchnError, errnoName, XenErrno, type XenErrnoName } from './errno.js'
export { eventChannelOp, type RegisterValue, type VcpuOpTarget, vcpuOp } from './hypercall.js'
export * from './layout.js'
export {
  type BackendHandler,
  type Deliver,
  type PortRecord,
  type PortStatus,
  PortTable,
} from './ports.js'
export {
  type EvtchnSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  validateSnapshot,
} from './snapshot.js'
export {
  type EvtchnClock,
  monotonicClock,
  type TimerRecord,
  timeoutClock,
  VcpuTimers,
} from './timers.js'
export { type Notify, TwoLevel } from './two-level.js'
