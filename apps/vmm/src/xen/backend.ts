// The VMM's test backend: the other domain (domid 0) of interdomain channels the guest opens with
// alloc_unbound(remote_dom = 0), driven by the guest's backend requests (guest-protocol.ts).
// It sends events two ways, as a device model would:
//   through an irqfd: it writes the eventfd the kernel offload (@tsvmm/xen-evtchn/kvm) gives the
//     port. Kernel delivery: a XEN_EVTCHN GSI route, KVM raises the port. User delivery: the
//     offload drains the eventfd and raises the port through the engine, as the kernel would;
//   through the engine's backend API (backendNotify).
// Guest sends on the channel reach the backend's handler, which counts them (in kernel delivery
// they arrive on the offload's send eventfd, drained by poll()).
// NOTIFY_LATER is a device model's notify() from the VMM's own event loop, a while after the
// request (the guest halts meanwhile); NOTIFY_TIME gives the guest the Xen system time of that
// notify, so it can time notify() -> its upcall handler on the same clock (its pvclock).
import { type EvtchnClock, XenErrno } from '@tsvmm/xen-evtchn'
import type { KvmEvtchn } from '@tsvmm/xen-evtchn/kvm'
import { BACKEND_OP, type BackendRequest } from '../devices/guest-protocol.js'

const { EBUSY, EINVAL, ENOENT, ENOSYS, ENOTCONN } = XenErrno

/** At most this many events per send request: a guest cannot keep the VMM busy for ever. */
const MAX_SENDS = 1024
/** The longest NOTIFY_LATER delay, in µs: one second. */
const MAX_DELAY_US = 1_000_000

/** The answer to a backend request. */
export interface BackendReply {
  status: number
  count?: number
  backendPort?: number
}

/** The backend of one VM. */
export class DeviceBackend {
  readonly #evtchn: KvmEvtchn
  /** Events the backend got from the guest, by the guest's port. */
  readonly #received = new Map<number, number>()
  /** Failures inside tsvmm while serving a request, reported when the VM stops. */
  readonly errors: string[] = []
  readonly #clock: EvtchnClock
  /** A port's scheduled NOTIFY_LATER (one at a time per port), by the guest's port. */
  readonly #later = new Map<number, unknown>()
  /** The Xen system time of each port's last NOTIFY_LATER notify, in ns. */
  readonly #notifiedAt = new Map<number, number>()

  constructor(evtchn: KvmEvtchn, clock: EvtchnClock) {
    this.#evtchn = evtchn
    this.#clock = clock
  }

  /** Serves one request of the guest. Never throws. */
  handle(req: BackendRequest): BackendReply {
    try {
      return this.#serve(req)
    } catch (e) {
      this.errors.push(`backend op ${req.op} on port ${req.port}: ${String(e)}`)
      return { status: -EINVAL }
    }
  }

  #serve(req: BackendRequest): BackendReply {
    switch (req.op) {
      case BACKEND_OP.BIND:
        return this.#bind(req.port)
      case BACKEND_OP.SEND_IRQFD:
        return this.#sendIrqfd(req.port, req.count)
      case BACKEND_OP.SEND_ENGINE:
        return this.#sendEngine(req.port, req.count)
      case BACKEND_OP.RECEIVED: {
        this.poll()
        const n = this.#received.get(req.port)
        return n === undefined ? { status: -EINVAL } : { status: 0, count: n }
      }
      case BACKEND_OP.CLOSE:
        return this.#close(req.port)
      case BACKEND_OP.NOTIFY_LATER:
        return this.#notifyLater(req.port, req.count)
      case BACKEND_OP.NOTIFY_TIME: {
        const at = this.#notifiedAt.get(req.port)
        if (at === undefined) return { status: -ENOENT }
        const ns = Math.max(0, Math.round(at))
        return { status: 0, count: ns % 2 ** 32, backendPort: Math.floor(ns / 2 ** 32) }
      }
      default:
        return { status: -ENOSYS }
    }
  }

  #bind(port: number): BackendReply {
    if (this.#received.has(port)) return { status: -EBUSY }
    const rc = this.#evtchn.backendBind(port, () => {
      const n = this.#received.get(port)
      if (n !== undefined) this.#received.set(port, n + 1)
    })
    if (rc < 0) return { status: rc }
    this.#received.set(port, 0)
    return { status: 0, backendPort: port }
  }

  #sendIrqfd(port: number, count: number): BackendReply {
    const fd = this.#received.has(port) ? this.#evtchn.backendNotifyFd(port) : null
    if (fd === null) return { status: -EINVAL }
    for (let i = 0; i < Math.min(count, MAX_SENDS); i++) fd.write(1n)
    this.poll()
    return { status: 0 }
  }

  #sendEngine(port: number, count: number): BackendReply {
    for (let i = 0; i < Math.min(count, MAX_SENDS); i++) {
      const rc = this.#evtchn.backendNotify(port)
      // -ENOTCONN (masked) and 0 (already pending) are deliveries too.
      if (rc < 0 && rc !== -ENOTCONN) return { status: rc }
    }
    return { status: 0 }
  }

  #notifyLater(port: number, delayUs: number): BackendReply {
    if (!this.#received.has(port) || delayUs < 1 || delayUs > MAX_DELAY_US)
      return { status: -EINVAL }
    if (this.#later.has(port)) return { status: -EBUSY }
    const handle = this.#clock.schedule(this.#clock.now() + delayUs * 1000, () => {
      this.#later.delete(port)
      // Read the clock right before notify(): the guest times from here to its handler.
      this.#notifiedAt.set(port, this.#clock.now())
      const rc = this.#evtchn.backendNotify(port)
      if (rc < 0 && rc !== -ENOTCONN) this.errors.push(`notify later on port ${port}: ${rc}`)
    })
    this.#later.set(port, handle)
    return { status: 0 }
  }

  #close(port: number): BackendReply {
    if (!this.#received.delete(port)) return { status: -EINVAL }
    this.#cancelLater(port)
    this.#notifiedAt.delete(port)
    return { status: this.#evtchn.backendUnbind(port) }
  }

  #cancelLater(port: number): void {
    const handle = this.#later.get(port)
    if (handle === undefined) return
    this.#clock.cancel(handle)
    this.#later.delete(port)
  }

  /** Cancels every scheduled notify (the VM is going away). */
  dispose(): void {
    for (const port of [...this.#later.keys()]) this.#cancelLater(port)
  }

  /**
   * Drains the channels' eventfds: guest sends the kernel took reach the handlers, and in user
   * delivery the irqfd writes raise their ports (what KVM's irqfd worker would do).
   */
  poll(): void {
    this.#evtchn.pollBackends()
  }
}
