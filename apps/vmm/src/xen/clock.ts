// The clock of Xen system time for the engine's timers: the VM's kvmclock (KVM_GET_CLOCK), which
// is what KVM writes into each vcpu_info's pvclock. A guest reading its pvclock and the engine
// arming VIRQ_TIMER therefore agree on "now" (as QEMU's kvm_get_current_ns does).
import type { Vm } from '@tsvmm/kvm-sys'
import { type EvtchnClock, timeoutClock } from '@tsvmm/xen-evtchn'

/** An engine clock on `vm`'s kvmclock. */
export function kvmClock(vm: Vm): EvtchnClock {
  return timeoutClock(() => Number(vm.getClock().clock))
}
