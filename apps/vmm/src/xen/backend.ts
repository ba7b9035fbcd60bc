// The VMM's test backend: the other domain (domid 0) of interdomain channels the guest opens with
// alloc_unbound(remote_dom = 0), driven by the guest's backend requests (guest-protocol.ts).
// It sends events two ways, as a device model would:
//   through an irqfd: it writes an eventfd wired to the port by a GSI route of type XEN_EVTCHN.
//     Kernel delivery: KVM_IRQFD + KVM_SET_GSI_ROUTING (@tsvmm/irq-routing), KVM raises the port.
//     User delivery: the same route lives in userspace; tsvmm drains the eventfd and raises the
//     port through the engine, as the kernel would;
//   through the engine's backend API (backendNotify).
// Guest sends on the channel reach the backend's handler, which counts them.

import { RoutingTable } from '@tsvmm/irq-routing'
import { EventFd, type Vm } from '@tsvmm/kvm-sys'
import { type EvtchnEngine, XenErrno } from '@tsvmm/xen-evtchn'
import { BACKEND_OP, type BackendRequest } from '../devices/guest-protocol.js'
import type { ActiveDelivery } from './events.js'

const { EINVAL, ENOSYS } = XenErrno

/** One backend channel, keyed by the guest's port. */
interface Channel {
  readonly port: number
  readonly vcpu: number
  readonly eventfd: EventFd
  readonly gsi: number | undefined
  received: number
}

/** The answer to a backend request. */
export interface BackendReply {
  status: number
  count?: number
  backendPort?: number
}

/** The backend of one VM. */
export class DeviceBackend {
  readonly #engine: EvtchnEngine
  readonly #mode: ActiveDelivery
  readonly #routing: RoutingTable | undefined
  readonly #channels = new Map<number, Channel>()
  /** Failures of KVM calls, reported when the VM stops. */
  readonly errors: string[] = []

  /**
   * `irqchip`: 'kernel' when the VM has the full in-kernel irqchip, whose default PIC and IOAPIC
   * routes (the UART's IRQ 4, the PIT's IRQ 0) every KVM_SET_GSI_ROUTING must carry on.
   */
  constructor(
    engine: EvtchnEngine,
    mode: ActiveDelivery,
    vm: Vm,
    irqchip: 'split' | 'kernel' = 'split',
  ) {
    this.#engine = engine
    this.#mode = mode
    if (mode === 'kernel')
      this.#routing = new RoutingTable(
        {
          setGsiRouting: (table) => vm.setGsiRouting(table),
          irqfd: (r) => vm.irqfd({ fd: r.fd, gsi: r.gsi, deassign: r.deassign }),
        },
        { irqchip },
      )
  }

  /** Serves one request of the guest. Never throws. */
  handle(req: BackendRequest): BackendReply {
    try {
      switch (req.op) {
        case BACKEND_OP.BIND:
          return this.#bind(req.port)
        case BACKEND_OP.SEND_IRQFD:
          return this.#sendIrqfd(req.port, req.count)
        case BACKEND_OP.SEND_ENGINE:
          return this.#sendEngine(req.port, req.count)
        case BACKEND_OP.RECEIVED: {
          const ch = this.#channels.get(req.port)
          return ch === undefined ? { status: -EINVAL } : { status: 0, count: ch.received }
        }
        case BACKEND_OP.CLOSE:
          return this.#close(req.port)
        default:
          return { status: -ENOSYS }
      }
    } catch (e) {
      this.errors.push(`backend op ${req.op} on port ${req.port}: ${String(e)}`)
      return { status: -EINVAL }
    }
  }

  #bind(port: number): BackendReply {
    if (this.#channels.has(port)) return { status: -16 }
    const rc = this.#engine.backendBind(port, () => {
      const ch = this.#channels.get(port)
      if (ch !== undefined) ch.received++
    })
    if (rc < 0) return { status: rc }
    const vcpu = this.#engine.portInfo(port).vcpu
    const eventfd = EventFd.create()
    let gsi: number | undefined
    if (this.#routing !== undefined) {
      gsi = this.#routing.allocateGsi()
      this.#routing.add({ gsi, type: 'xenEvtchn', port, vcpu })
      this.#routing.commit()
      this.#routing.attachIrqfd(gsi, eventfd.fd)
    }
    this.#channels.set(port, { port, vcpu, eventfd, gsi, received: 0 })
    return { status: 0, backendPort: port }
  }

  #sendIrqfd(port: number, count: number): BackendReply {
    const ch = this.#channels.get(port)
    if (ch === undefined) return { status: -EINVAL }
    for (let i = 0; i < Math.min(count, 1024); i++) ch.eventfd.write(1n)
    if (this.#mode === 'user') this.poll()
    return { status: 0 }
  }

  #sendEngine(port: number, count: number): BackendReply {
    for (let i = 0; i < Math.min(count, 1024); i++) {
      const rc = this.#engine.backendNotify(port)
      // -ENOTCONN (masked) and 0 (already pending) are deliveries too.
      if (rc < 0 && rc !== -107) return { status: rc }
    }
    return { status: 0 }
  }

  #close(port: number): BackendReply {
    const ch = this.#channels.get(port)
    if (ch === undefined) return { status: -EINVAL }
    this.#channels.delete(port)
    if (this.#routing !== undefined && ch.gsi !== undefined) {
      this.#routing.detachIrqfd(ch.gsi, ch.eventfd.fd)
      this.#routing.releaseGsi(ch.gsi)
      this.#routing.commit()
    }
    ch.eventfd.close()
    return { status: this.#engine.backendUnbind(port) }
  }

  /**
   * User delivery: what KVM's irqfd would do, in userspace. Drains every channel's eventfd and
   * raises its port (KVM's evtchn_set_fn: set_pending on the route's vCPU).
   */
  poll(): void {
    if (this.#mode !== 'user') return
    for (const ch of this.#channels.values()) {
      const n = ch.eventfd.read()
      if (n !== null && n > 0n) this.#engine.setPending(ch.port, ch.vcpu)
    }
  }

  /** Closes every channel's eventfd. */
  dispose(): void {
    for (const ch of this.#channels.values()) ch.eventfd.close()
    this.#channels.clear()
  }
}
