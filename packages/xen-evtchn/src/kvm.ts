// @tsvmm/xen-evtchn/kvm: the kernel offload (loads @tsvmm/kvm-sys's native addon).
export { KvmEvtchn, type KvmEvtchnOptions, kernelCanDeliver } from './kvm-offload.js'
