/**
 * The kernel offload of Xen event channel delivery: KVM_XEN_HVM_EVTCHN_SEND, XEN_EVTCHN GSI
 * routes with irqfds, EVTCHNOP_send and VIRQ_TIMER handled in KVM, driven through the VMM's vCPU
 * port so that no vCPU ioctl is issued from the caller's thread. Loads
 * `@tsvmm/kvm-sys`'s native addon.
 *
 * @module @tsvmm/xen-evtchn/kvm
 */
export {
  KvmEvtchn,
  type KvmEvtchnOptions,
  kernelCanDeliver,
  sameThreadVcpus,
  type VcpuPort,
} from './kvm-offload.js'
