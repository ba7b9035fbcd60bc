// Kernel offload of guest sends and VIRQ_TIMER (delivery mode `kernel`): keeps KVM's view of the
// port table in step with the engine's. IPI ports and loopback interdomain ports are assigned
// with KVM_XEN_ATTR_TYPE_EVTCHN so a guest EVTCHNOP_send on them never leaves the kernel; each
// vCPU's VIRQ_TIMER port goes to KVM_XEN_VCPU_ATTR_TYPE_TIMER so set_timer_op and singleshot
// timers run in the kernel. Ports KVM does not know (backends) still reach userspace.
import { EVTCHNSTAT, type PortRecord, VIRQ } from '@tsvmm/xen-evtchn'

/** What a guest send on a port should do in the kernel: raise `port` on KVM vCPU `vcpu`. */
export interface KernelSend {
  sendPort: number
  evtchnType: number
  port: number
  vcpu: number
}

/** The KVM calls the sync makes (a kvm-sys Vm/Vcpu adapter, or a test double). */
export interface KernelPortsTarget {
  assign(send: KernelSend): void
  deassign(sendPort: number): void
  setTimerPort(vcpu: number, port: number): void
}

/** The kernel assignments the engine's ports call for. */
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

/** VIRQ_TIMER port of each vCPU (0: none). */
export function desiredTimers(ports: readonly PortRecord[], vcpus: number): number[] {
  const out = new Array<number>(vcpus).fill(0)
  for (const p of ports)
    if (p.status === EVTCHNSTAT.virq && p.value === VIRQ.TIMER && p.vcpu < vcpus)
      out[p.vcpu] = p.port
  return out
}

/** Mirrors the engine's port table into KVM, changing only what changed. */
export class KernelPorts {
  readonly #target: KernelPortsTarget
  readonly #domid: number
  readonly #sends = new Map<number, KernelSend>()
  readonly #timers: number[]

  constructor(target: KernelPortsTarget, vcpus: number, domid: number) {
    this.#target = target
    this.#domid = domid
    this.#timers = new Array<number>(vcpus).fill(0)
  }

  /** Ports the kernel currently handles sends for. */
  get assigned(): ReadonlyMap<number, KernelSend> {
    return this.#sends
  }

  /** Brings KVM in line with `ports` (the engine's open ports). */
  sync(ports: readonly PortRecord[]): void {
    const want = desiredSends(ports, this.#domid)
    for (const [port, have] of this.#sends) {
      const w = want.get(port)
      if (
        w === undefined ||
        w.port !== have.port ||
        w.vcpu !== have.vcpu ||
        w.evtchnType !== have.evtchnType
      ) {
        this.#target.deassign(port)
        this.#sends.delete(port)
      }
    }
    for (const [port, w] of want) {
      if (!this.#sends.has(port)) {
        this.#target.assign(w)
        this.#sends.set(port, w)
      }
    }
    desiredTimers(ports, this.#timers.length).forEach((port, vcpu) => {
      if (this.#timers[vcpu] !== port) {
        this.#target.setTimerPort(vcpu, port)
        this.#timers[vcpu] = port
      }
    })
  }
}
