/**
 * The kernel offload of Xen event channel delivery: KVM_XEN_HVM_EVTCHN_SEND, XEN_EVTCHN GSI
 * routes with irqfds, and EVTCHNOP_send handled in KVM (KVM_XEN_ATTR_TYPE_EVTCHN). Loads
 * `@tsvmm/kvm-sys`'s native addon.
 *
 * @module @tsvmm/xen-evtchn/kvm
 */
export { KvmEvtchn, type KvmEvtchnOptions, kernelCanDeliver } from './kvm-offload.js'
