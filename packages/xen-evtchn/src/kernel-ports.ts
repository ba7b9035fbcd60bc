// Which ports KVM handles itself, and the smallest change that brings KVM in line with the port
// table (as QEMU's xen_evtchn.c assigns a port with kvm_xen_set_evtchn... when it is bound and
// de-assigns it in close_port). Pure: the kernel calls are the target's.
//   - IPI ports and loopback interdomain ports: KVM_XEN_ATTR_TYPE_EVTCHN, so a guest
//     EVTCHNOP_send on them never leaves the kernel (an IPI raises itself, a loopback port its peer);
//   - backend ports (interdomain with the backend domain and a handler attached): an EVTCHN
//     assignment that signals an eventfd on guest sends, plus a XEN_EVTCHN GSI route with an irqfd
//     for the backend's notifications;
//   - each vCPU's VIRQ_TIMER port: KVM_XEN_VCPU_ATTR_TYPE_TIMER, so set_timer_op and singleshot
//     timers run in the kernel.
import { DOMID_BACKEND, EVTCHNSTAT, VIRQ } from './layout.js'
import type { PortRecord } from './port-records.js'

/** A guest send on `sendPort` the kernel handles: it raises `port` on Xen vCPU `vcpu`. */
export interface KernelSend {
  sendPort: number
  evtchnType: number
  port: number
  vcpu: number
}

/**
 * The kernel calls a sync makes. Each returns whether the kernel now has it: a refused
 * assignment is tried again on the next sync (until then the port is served in userspace).
 */
export interface KernelPortsTarget {
  assign(send: KernelSend): boolean
  deassign(sendPort: number): void
  /** `port` 0 stops the vCPU's kernel timer. */
  setTimerPort(vcpu: number, port: number): boolean
  addBackend(port: number, vcpu: number): boolean
  /** bind_vcpu moved a backend port: its route must name the new vCPU. */
  moveBackend(port: number, vcpu: number): boolean
  dropBackend(port: number): void
}

/** The sends the kernel should handle for `ports` of domain `domid`, by send port. */
export function desiredSends(ports: readonly PortRecord[], domid: number): Map<number, KernelSend> {
  const byPort = new Map(ports.map((p) => [p.port, p]))
  const out = new Map<number, KernelSend>()
  for (const p of ports) {
    if (p.status === EVTCHNSTAT.ipi) {
      out.set(p.port, { sendPort: p.port, evtchnType: EVTCHNSTAT.ipi, port: p.port, vcpu: p.vcpu })
    } else if (p.status === EVTCHNSTAT.interdomain && p.remoteDom === domid) {
      const peer = byPort.get(p.value)
      if (peer !== undefined)
        out.set(p.port, {
          sendPort: p.port,
          evtchnType: EVTCHNSTAT.interdomain,
          port: peer.port,
          vcpu: peer.vcpu,
        })
    }
  }
  return out
}

/** Backend ports with a handler attached: port -> the Xen vCPU it notifies. */
export function desiredBackends(
  ports: readonly PortRecord[],
  hasBackend: (port: number) => boolean,
): Map<number, number> {
  const out = new Map<number, number>()
  for (const p of ports)
    if (p.status === EVTCHNSTAT.interdomain && p.remoteDom === DOMID_BACKEND && hasBackend(p.port))
      out.set(p.port, p.vcpu)
  return out
}

/** VIRQ_TIMER port of each vCPU (0: none). */
export function desiredTimers(ports: readonly PortRecord[], vcpus: number): number[] {
  const out = new Array<number>(vcpus).fill(0)
  for (const p of ports)
    if (p.status === EVTCHNSTAT.virq && p.value === VIRQ.TIMER && p.vcpu < vcpus)
      out[p.vcpu] = p.port
  return out
}

/** KVM's view of the port table, changed only where the table changed. */
export class KernelPorts {
  readonly #target: KernelPortsTarget
  readonly #domid: number
  readonly #sends = new Map<number, KernelSend>()
  readonly #backends = new Map<number, number>()
  readonly #timers: number[]

  constructor(target: KernelPortsTarget, vcpus: number, domid: number) {
    this.#target = target
    this.#domid = domid
    this.#timers = new Array<number>(vcpus).fill(0)
  }

  /** Send ports the kernel currently handles. */
  get assigned(): ReadonlyMap<number, KernelSend> {
    return this.#sends
  }

  /** Backend ports the kernel currently routes: port -> Xen vCPU. */
  get backends(): ReadonlyMap<number, number> {
    return this.#backends
  }

  /** Brings the kernel in line with `ports` (the engine's open ports). */
  sync(ports: readonly PortRecord[], hasBackend: (port: number) => boolean): void {
    const t = this.#target
    const want = desiredSends(ports, this.#domid)
    for (const [port, have] of this.#sends) {
      const w = want.get(port)
      if (
        w === undefined ||
        w.port !== have.port ||
        w.vcpu !== have.vcpu ||
        w.evtchnType !== have.evtchnType
      ) {
        t.deassign(port)
        this.#sends.delete(port)
      }
    }
    const backends = desiredBackends(ports, hasBackend)
    for (const [port, vcpu] of this.#backends) {
      const w = backends.get(port)
      if (w === undefined) {
        t.dropBackend(port)
        this.#backends.delete(port)
      } else if (w !== vcpu && t.moveBackend(port, w)) {
        this.#backends.set(port, w)
      }
    }
    for (const [port, w] of want)
      if (!this.#sends.has(port) && t.assign(w)) this.#sends.set(port, w)
    for (const [port, vcpu] of backends)
      if (!this.#backends.has(port) && t.addBackend(port, vcpu)) this.#backends.set(port, vcpu)
    desiredTimers(ports, this.#timers.length).forEach((port, vcpu) => {
      if (this.#timers[vcpu] !== port && t.setTimerPort(vcpu, port)) this.#timers[vcpu] = port
    })
  }

  /**
   * Takes every port and backend back from the kernel (the offload closes). vCPU timers are left
   * alone: they are vCPU state, and the vCPUs may be gone already.
   */
  clear(): void {
    for (const port of this.#sends.keys()) this.#target.deassign(port)
    this.#sends.clear()
    for (const port of this.#backends.keys()) this.#target.dropBackend(port)
    this.#backends.clear()
  }
}
