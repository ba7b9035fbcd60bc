// The backend ports' kernel resources, one record per port: the eventfd a device writes to raise
// the port (an irqfd on a XEN_EVTCHN GSI route, or watched here in userspace delivery, as KVM's
// irqfd worker would), and in kernel delivery the eventfd KVM signals on the guest's sends
// (KVM_XEN_ATTR_TYPE_EVTCHN with an eventfd, QEMU's kvm_xen_eventfd_assign). Both are watched on
// the event loop, so a send reaches its backend on the loop's next turn, not at the next poll:
// a xenstore request and its reply are one round trip, not a polling period. The irqfd is
// detached before its route goes, and a half-made backend is undone.
import type { RoutingTable } from '@tsvmm/irq-routing'
import { abi, EventFd, type Vm } from '@tsvmm/kvm-sys'
import type { EvtchnEngine } from './engine.js'
import { EVTCHNSTAT } from './layout.js'

interface Backend {
  /** Guest -> backend: the kernel signals it on the guest's EVTCHNOP_send (kernel mode). */
  sendFd: EventFd | null
  /** Backend -> guest: writing it raises the port (an irqfd, or drained by poll). */
  notifyFd: EventFd
  /** Its XEN_EVTCHN route (kernel mode), else -1. */
  gsi: number
}

/** KVM_XEN_ATTR_TYPE_EVTCHN with DEASSIGN: guest sends on `port` exit to userspace again. */
export function deassignEvtchn(vm: Vm, port: number): void {
  vm.xenHvmSetAttr({
    type: 'EVTCHN',
    sendPort: port,
    evtchnType: 0,
    flags: abi.KVM_XEN_EVTCHN_DEASSIGN,
    deliver: { port: 0, vcpu: 0 },
  })
}

/** The backends of one VM; `routing` null: userspace delivery. */
export class KernelBackends {
  readonly #vm: Vm
  readonly #engine: EvtchnEngine
  readonly #routing: RoutingTable | null
  readonly #apicId: (vcpu: number) => number
  readonly #onError: (e: unknown) => void
  readonly #backends = new Map<number, Backend>()

  constructor(
    vm: Vm,
    engine: EvtchnEngine,
    routing: RoutingTable | null,
    apicId: (vcpu: number) => number,
    onError: (e: unknown) => void,
  ) {
    this.#vm = vm
    this.#engine = engine
    this.#routing = routing
    this.#apicId = apicId
    this.#onError = onError
  }

  /** The eventfd a device writes to raise `port`, or null. */
  notifyFd(port: number): EventFd | null {
    return this.#backends.get(port)?.notifyFd ?? null
  }

  /** The eventfd the kernel signals on the guest's sends on `port`, or null. */
  sendFd(port: number): EventFd | null {
    return this.#backends.get(port)?.sendFd ?? null
  }

  /**
   * Reads every backend's eventfds now, as their watches would on the loop's next turn: a guest
   * send the kernel took calls the backend's handler once (sends coalesce, as events do); in
   * userspace delivery a device's notification raises the port (set_pending on the port's
   * vCPU). For a caller that must see the effects at once. Returns how many handlers ran.
   */
  poll(): number {
    let n = 0
    for (const [port, b] of this.#backends) {
      try {
        if (b.gsi < 0 && b.notifyFd.read() !== null) this.#raise(port)
        if (b.sendFd === null || b.sendFd.read() === null) continue
      } catch (e) {
        this.#onError(e)
        continue
      }
      this.#engine.guestSend(port)
      n++
    }
    return n
  }

  /** Userspace delivery of a device's notification: what KVM's irqfd worker does. */
  #raise(port: number): void {
    this.#engine.setPending(port, this.#engine.portInfo(port).vcpu)
  }

  /** Runs `fn` for a watch: its errors go to onError, never to the event loop. */
  #guarded(fn: () => void): () => void {
    return () => {
      try {
        fn()
      } catch (e) {
        this.#onError(e)
      }
    }
  }

  /** Drops every backend. */
  dropAll(): void {
    for (const port of [...this.#backends.keys()]) this.drop(port)
  }

  /** A backend for `port`, notifying Xen vCPU `vcpu`; false when the kernel refused it. */
  add(port: number, vcpu: number): boolean {
    const notifyFd = EventFd.create()
    const routing = this.#routing
    if (routing === null) {
      notifyFd.watch(this.#guarded(() => this.#raise(port)))
      this.#backends.set(port, { sendFd: null, notifyFd, gsi: -1 })
      return true
    }
    const sendFd = EventFd.create()
    let gsi = -1
    try {
      this.#vm.xenHvmSetAttr({
        type: 'EVTCHN',
        sendPort: port,
        evtchnType: EVTCHNSTAT.interdomain,
        flags: 0,
        deliver: { eventfd: sendFd.fd },
      })
      gsi = routing.allocateGsi()
      routing.add({ gsi, type: 'xenEvtchn', port, vcpu: this.#apicId(vcpu) })
      routing.commit()
      routing.attachIrqfd(gsi, notifyFd.fd)
      sendFd.watch(this.#guarded(() => this.#engine.guestSend(port)))
      this.#backends.set(port, { sendFd, notifyFd, gsi })
      return true
    } catch (e) {
      this.#onError(e)
      try {
        deassignEvtchn(this.#vm, port)
        if (gsi >= 0) {
          routing.remove(gsi)
          routing.releaseGsi(gsi)
          routing.commit()
        }
      } catch (e2) {
        this.#onError(e2)
      }
      sendFd.close()
      notifyFd.close()
      return false
    }
  }

  /** bind_vcpu moved `port`: its route names the new vCPU. */
  move(port: number, vcpu: number): boolean {
    const b = this.#backends.get(port)
    const routing = this.#routing
    if (b === undefined || routing === null || b.gsi < 0) return true
    try {
      routing.replace(b.gsi, [{ gsi: b.gsi, type: 'xenEvtchn', port, vcpu: this.#apicId(vcpu) }])
      routing.commit()
      return true
    } catch (e) {
      this.#onError(e)
      return false
    }
  }

  /** Takes `port` back from the kernel and closes its eventfds. */
  drop(port: number): void {
    const b = this.#backends.get(port)
    if (b === undefined) return
    this.#backends.delete(port)
    const routing = this.#routing
    if (routing !== null && b.gsi >= 0) {
      try {
        deassignEvtchn(this.#vm, port)
        // Deassign the irqfd before its route goes.
        routing.detachIrqfd(b.gsi, b.notifyFd.fd)
        routing.remove(b.gsi)
        routing.releaseGsi(b.gsi)
        routing.commit()
      } catch (e) {
        this.#onError(e)
      }
    }
    b.sendFd?.close()
    b.notifyFd.close()
  }
}
