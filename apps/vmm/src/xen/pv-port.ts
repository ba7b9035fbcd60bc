// The event channel of a PV device backend in the VMM (the xenstore and console rings): a guest
// port allocated unbound for the backend domain and bound at once, as a toolstack does with
// xc_evtchn_alloc_unbound before it writes the port into HVM_PARAM_*_EVTCHN, so the guest finds
// an interdomain channel already connected. Guest sends call `onSend` (from the hypercall in user
// delivery, from the offload's poll of KVM's send eventfd in kernel delivery); `notify` raises
// the port in the guest.
import type { KvmEvtchn } from '@tsvmm/xen-evtchn/kvm'

/** A bound backend port. */
export interface PvPort {
  /** The guest's port number (what HVM_PARAM_*_EVTCHN carries). */
  readonly port: number
  /** Raises the port in the guest; a masked or already pending port is not an error. */
  notify(): void
  /** Unbinds the backend. */
  close(): void
}

/** Allocates and binds a backend port on vCPU 0 (the guest rebinds it where it likes). */
export function openPvPort(evtchn: KvmEvtchn, onSend: () => void): PvPort {
  const port = evtchn.engine.backendAllocUnbound(0)
  if (port <= 0) throw new Error(`no free event channel port for a PV backend (${port})`)
  const rc = evtchn.backendBind(port, onSend)
  if (rc < 0) throw new Error(`binding the PV backend to port ${port}: ${rc}`)
  return {
    port,
    notify: () => {
      evtchn.backendNotify(port)
    },
    close: () => {
      evtchn.backendUnbind(port)
    },
  }
}
