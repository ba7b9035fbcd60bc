// The clock of Xen system time for the engine's timers: the VM's kvmclock (KVM_GET_CLOCK), which
// is what KVM writes into each vcpu_info's pvclock. A guest reading its pvclock and the engine
// arming VIRQ_TIMER therefore agree on "now" (as QEMU's kvm_get_current_ns does).
import type { Vm } from '@tsvmm/kvm-sys'
import type { EvtchnClock } from '@tsvmm/xen-evtchn'

/** setTimeout's limit; longer waits are taken in steps. */
const MAX_DELAY_MS = 0x7fff_ffff

/** An engine clock on `vm`'s kvmclock. */
export function kvmClock(vm: Vm): EvtchnClock {
  const now = () => Number(vm.getClock().clock)
  interface Handle {
    timer: ReturnType<typeof setTimeout> | undefined
  }
  return {
    now,
    schedule(deadlineNs, fire) {
      const h: Handle = { timer: undefined }
      const arm = () => {
        const ms = Math.max(0, Math.ceil((deadlineNs - now()) / 1e6))
        h.timer = setTimeout(ms > MAX_DELAY_MS ? arm : fire, Math.min(ms, MAX_DELAY_MS))
        h.timer.unref?.()
      }
      arm()
      return h
    },
    cancel(handle) {
      const h = handle as Handle | undefined
      if (h?.timer !== undefined) clearTimeout(h.timer)
    },
  }
}
