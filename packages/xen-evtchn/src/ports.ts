// The EVTCHNOP port table of one guest domain: port states, VIRQ bindings, loopback interdomain
// pairs and ports connected to the VMM's device backends. Each operation follows Xen's
// xen/common/event_channel.c (errnos, order of checks) unless a comment names QEMU's
// hw/i386/kvm/xen_evtchn.c. Operations return a port (> 0) or 0 on success, else -errno.
import { XenErrno } from './errno.js'
import {
  DOMID_BACKEND,
  DOMID_SELF,
  EVTCHNSTAT,
  type EvtchnStat,
  MAX_PORTS,
  NR_VIRQS,
  virqIsPerVcpu,
} from './layout.js'
import type { BackendHandler, Deliver, PortRecord, PortStatus } from './port-records.js'
import type { TwoLevel } from './two-level.js'

const E = XenErrno

/**
 * The port table. It owns port states; every memory effect goes through the {@link TwoLevel}
 * engine (mask, unmask, clear) or the current {@link Deliver} function (set_pending).
 */
export class PortTable {
  readonly #two: TwoLevel
  readonly #domid: number
  readonly #onError: (e: unknown) => void
  readonly #status = new Uint8Array(MAX_PORTS)
  readonly #vcpu = new Uint32Array(MAX_PORTS)
  readonly #value = new Uint32Array(MAX_PORTS)
  readonly #remoteDom = new Uint16Array(MAX_PORTS)
  readonly #virqPort: Uint16Array
  readonly #backends = new Map<number, BackendHandler>()
  #generation = 0
  /** Where port-table deliveries go; the kernel offload replaces it. */
  deliver: Deliver

  constructor(two: TwoLevel, domid: number, onError: (e: unknown) => void) {
    this.#two = two
    this.#domid = domid
    this.#onError = onError
    this.#virqPort = new Uint16Array(two.vcpus * NR_VIRQS)
    this.deliver = (port, vcpu) => two.setPending(port, vcpu)
  }

  /** This domain's id (what DOMID_SELF resolves to). */
  get domid(): number {
    return this.#domid
  }

  /** Moves with every binding change; the engine compares it around an op to tell the offload. */
  get generation(): number {
    return this.#generation
  }

  #isSelf(dom: number): boolean {
    return dom === DOMID_SELF || dom === this.#domid
  }

  // Lowest closed port in the current mode (get_free_port).
  #allocate(status: EvtchnStat, vcpu: number, value: number, remoteDom: number): number {
    const limit = this.#two.geometry.portLimit
    for (let p = 1; p < limit; p++) {
      if (this.#status[p] === EVTCHNSTAT.closed) {
        this.#status[p] = status
        this.#vcpu[p] = vcpu
        this.#value[p] = value
        this.#remoteDom[p] = remoteDom
        this.#generation++
        return p
      }
    }
    return -E.ENOSPC
  }

  // Frees a port and clears its pending bit (QEMU free_port: a rebind sees no stale event).
  #free(port: number): void {
    this.#status[port] = EVTCHNSTAT.closed
    this.#vcpu[port] = 0
    this.#value[port] = 0
    this.#remoteDom[port] = 0
    this.#generation++
    this.#two.clearPending(port)
  }

  #deliver(port: number, vcpu: number): number {
    try {
      return this.deliver(port, vcpu)
    } catch (e) {
      this.#onError(e)
      return -E.EINVAL
    }
  }

  /** EVTCHNOP_alloc_unbound: a fresh port waiting for `remoteDom` (self or the backend). */
  allocUnbound(dom: number, remoteDom: number): number {
    if (!this.#isSelf(dom)) return -E.ESRCH
    // Only this domain (loopback) and the backend domain exist (QEMU: -EPERM otherwise).
    const remote = this.#isSelf(remoteDom) ? this.#domid : remoteDom
    if (remote !== this.#domid && remote !== DOMID_BACKEND) return -E.EPERM
    return this.#allocate(EVTCHNSTAT.unbound, 0, 0, remote)
  }

  /**
   * EVTCHNOP_bind_interdomain, loopback within the domain: `remotePort` must be a port of this
   * domain left unbound for it. Both ends become interdomain peers; like Xen, the new local port
   * is set pending in case a notification was lost while the remote end was unbound.
   */
  bindInterdomain(remoteDom: number, remotePort: number): number {
    if (!this.#isSelf(remoteDom) && remoteDom !== DOMID_BACKEND) return -E.ESRCH
    if (!this.#two.validPort(remotePort)) return -E.EINVAL
    // The backend domain offers no ports of its own: its ends are made with backendBind.
    if (remoteDom === DOMID_BACKEND) return -E.EINVAL
    if (
      this.#status[remotePort] !== EVTCHNSTAT.unbound ||
      this.#remoteDom[remotePort] !== this.#domid
    )
      return -E.EINVAL
    const local = this.#allocate(EVTCHNSTAT.interdomain, 0, remotePort, this.#domid)
    if (local < 0) return local
    this.#status[remotePort] = EVTCHNSTAT.interdomain
    this.#value[remotePort] = local
    this.#deliver(local, 0)
    return local
  }

  /** EVTCHNOP_bind_virq. */
  bindVirq(virq: number, vcpu: number): number {
    if (!(virq >= 0 && virq < NR_VIRQS && (virq | 0) === virq)) return -E.EINVAL
    if (!virqIsPerVcpu(virq) && vcpu !== 0) return -E.EINVAL
    if (!this.#two.validVcpu(vcpu)) return -E.ENOENT
    const slot = vcpu * NR_VIRQS + virq
    if (this.#virqPort[slot] !== 0) return -E.EEXIST
    const port = this.#allocate(EVTCHNSTAT.virq, vcpu, virq, 0)
    if (port > 0) this.#virqPort[slot] = port
    return port
  }

  /** EVTCHNOP_bind_ipi. */
  bindIpi(vcpu: number): number {
    if (!this.#two.validVcpu(vcpu)) return -E.ENOENT
    return this.#allocate(EVTCHNSTAT.ipi, vcpu, 0, 0)
  }

  /**
   * EVTCHNOP_close. The other end of a loopback pair goes back to unbound; a backend binding is
   * dropped; the port's pending bit is cleared.
   */
  close(port: number): number {
    if (!this.#two.validPort(port)) return -E.EINVAL
    switch (this.#status[port]) {
      case EVTCHNSTAT.closed:
        return -E.EINVAL
      case EVTCHNSTAT.virq:
        this.#unbindVirq(port)
        break
      case EVTCHNSTAT.interdomain:
        if (this.#remoteDom[port] === DOMID_BACKEND) {
          this.#backends.delete(port)
        } else {
          const peer = this.#value[port] as number
          if (this.#status[peer] === EVTCHNSTAT.interdomain && this.#value[peer] === port) {
            this.#status[peer] = EVTCHNSTAT.unbound
            this.#value[peer] = 0
          }
        }
        break
    }
    this.#free(port)
    return 0
  }

  /**
   * EVTCHNOP_send. IPI: pending on the port for its vCPU; loopback interdomain: pending on the
   * peer; backend: the backend's handler hears it; unbound: dropped. 0 whatever the delivery
   * code underneath; -EINVAL for a bad, closed, VIRQ or PIRQ port.
   */
  send(port: number): number {
    if (!this.#two.validPort(port)) return -E.EINVAL
    switch (this.#status[port]) {
      case EVTCHNSTAT.ipi:
        this.#deliver(port, this.#vcpu[port] as number)
        return 0
      case EVTCHNSTAT.interdomain: {
        if (this.#remoteDom[port] === DOMID_BACKEND) {
          const handler = this.#backends.get(port)
          if (handler !== undefined) {
            try {
              handler(port)
            } catch (e) {
              this.#onError(e)
            }
          }
          return 0
        }
        const peer = this.#value[port] as number
        this.#deliver(peer, this.#vcpu[peer] as number)
        return 0
      }
      case EVTCHNSTAT.unbound:
        return 0
      default:
        return -E.EINVAL
    }
  }

  /** EVTCHNOP_status. A closed port in range is EVTCHNSTAT_closed; port 0 is -EINVAL (QEMU). */
  status(dom: number, port: number): PortStatus | number {
    if (!this.#isSelf(dom)) return -E.ESRCH
    if (!this.#two.validPort(port)) return -E.EINVAL
    const status = this.#status[port] as EvtchnStat
    const out: PortStatus = { status, vcpu: this.#vcpu[port] as number }
    switch (status) {
      case EVTCHNSTAT.unbound:
        out.dom = this.#remoteDom[port] as number
        break
      case EVTCHNSTAT.interdomain:
        out.dom = this.#remoteDom[port] as number
        out.port = this.#value[port] as number
        break
      case EVTCHNSTAT.virq:
        out.virq = this.#value[port] as number
        break
      case EVTCHNSTAT.pirq:
        out.pirq = this.#value[port] as number
        break
    }
    return out
  }

  /** EVTCHNOP_unmask: the raise goes to the vCPU the port is bound to, not the caller. */
  unmask(port: number): number {
    if (!this.#two.validPort(port)) return -E.EINVAL
    return this.#two.unmask(port, this.#vcpu[port] as number)
  }

  /**
   * EVTCHNOP_bind_vcpu: -ENOENT for an unknown vCPU (checked first, as Xen), -EINVAL for a bad
   * port, an IPI, a per-vCPU VIRQ or a closed port. A pending unmasked port is raised on the new
   * vCPU (QEMU).
   */
  bindVcpu(port: number, vcpu: number): number {
    if (!this.#two.validVcpu(vcpu)) return -E.ENOENT
    if (!this.#two.validPort(port)) return -E.EINVAL
    const status = this.#status[port]
    const movable =
      status === EVTCHNSTAT.unbound ||
      status === EVTCHNSTAT.interdomain ||
      status === EVTCHNSTAT.pirq ||
      (status === EVTCHNSTAT.virq && !virqIsPerVcpu(this.#value[port] as number))
    if (!movable) return -E.EINVAL
    this.#vcpu[port] = vcpu
    this.#generation++
    this.#two.raiseIfPending(port, vcpu)
    return 0
  }

  /** EVTCHNOP_reset: closes every port of the domain. */
  reset(dom: number): number {
    if (!this.#isSelf(dom)) return -E.ESRCH
    this.closeAll()
    return 0
  }

  /** Closes every open port, in any mode's range. */
  closeAll(): void {
    for (let p = 1; p < MAX_PORTS; p++) {
      if (this.#status[p] !== EVTCHNSTAT.closed) {
        // close() checks the current mode's range; ports above it are dropped directly.
        if (this.close(p) !== 0) this.#dropAbove(p)
      }
    }
  }

  // Where `virq` of `vcpu` keeps its port: a global VIRQ is bound on vCPU 0.
  #virqSlot(virq: number, vcpu: number): number {
    return (virqIsPerVcpu(virq) ? vcpu : 0) * NR_VIRQS + virq
  }

  #unbindVirq(port: number): void {
    this.#virqPort[this.#virqSlot(this.#value[port] as number, this.#vcpu[port] as number)] = 0
  }

  #dropAbove(port: number): void {
    if (this.#status[port] === EVTCHNSTAT.virq) this.#unbindVirq(port)
    this.#backends.delete(port)
    this.#status[port] = EVTCHNSTAT.closed
    this.#vcpu[port] = 0
    this.#value[port] = 0
    this.#remoteDom[port] = 0
    this.#generation++
  }

  /**
   * Allocates a guest port unbound for the backend domain, as a toolstack's alloc_unbound on the
   * guest's behalf (e.g. the xenstore or console port). Returns the port or -ENOSPC.
   */
  backendAllocUnbound(vcpu = 0): number {
    if (!this.#two.validVcpu(vcpu)) return -E.ENOENT
    return this.#allocate(EVTCHNSTAT.unbound, vcpu, 0, DOMID_BACKEND)
  }

  /**
   * Connects a backend to guest port `port`, which must be unbound for the backend domain (or
   * already bound to the backend, to re-attach a handler after restore). The port becomes
   * interdomain; guest sends on it call `onSend`. 0, or -EINVAL.
   */
  backendBind(port: number, onSend: BackendHandler): number {
    if (!this.#two.validPort(port) || this.#remoteDom[port] !== DOMID_BACKEND) return -E.EINVAL
    const status = this.#status[port]
    if (status === EVTCHNSTAT.interdomain) {
      if (this.#backends.has(port)) return -E.EBUSY
    } else if (status !== EVTCHNSTAT.unbound) {
      return -E.EINVAL
    }
    this.#status[port] = EVTCHNSTAT.interdomain
    this.#value[port] = port
    this.#backends.set(port, onSend)
    this.#generation++
    return 0
  }

  /** The backend closes its end: the guest port goes back to unbound for the backend. */
  backendUnbind(port: number): number {
    if (!this.#isBackendBound(port)) return -E.EINVAL
    this.#backends.delete(port)
    this.#status[port] = EVTCHNSTAT.unbound
    this.#value[port] = 0
    this.#generation++
    return 0
  }

  /** The backend notifies the guest on `port`: the set_pending code, or -EINVAL if not bound. */
  backendNotify(port: number): number {
    if (!this.#isBackendBound(port)) return -E.EINVAL
    return this.#deliver(port, this.#vcpu[port] as number)
  }

  #isBackendBound(port: number): boolean {
    return (
      this.#two.validPort(port) &&
      this.#status[port] === EVTCHNSTAT.interdomain &&
      this.#remoteDom[port] === DOMID_BACKEND
    )
  }

  /**
   * Raises VIRQ `virq` on vCPU `vcpu` (send_guest_vcpu_virq / send_guest_global_virq: a global
   * VIRQ is looked up on vCPU 0 and goes to the vCPU its port notifies). The set_pending code,
   * -ENOENT if nothing is bound, -EINVAL for a bad VIRQ or vCPU.
   */
  raiseVirq(virq: number, vcpu: number): number {
    if (!(virq >= 0 && virq < NR_VIRQS && (virq | 0) === virq)) return -E.EINVAL
    if (!this.#two.validVcpu(vcpu)) return -E.EINVAL
    const port = this.#virqPort[this.#virqSlot(virq, vcpu)] as number
    if (port === 0) return -E.ENOENT
    return this.#deliver(port, this.#vcpu[port] as number)
  }

  /** The port bound to `virq` for `vcpu` (vCPU 0 for global VIRQs), or 0. */
  virqPort(virq: number, vcpu: number): number {
    if (!(virq >= 0 && virq < NR_VIRQS) || !this.#two.validVcpu(vcpu)) return 0
    return this.#virqPort[this.#virqSlot(virq, vcpu)] as number
  }

  /** The state of `port` without the status op's domain and range checks (VMM side). */
  describe(port: number): PortRecord {
    const p = port >= 0 && port < MAX_PORTS ? port : 0
    return {
      port,
      status: this.#status[p] as EvtchnStat,
      vcpu: this.#vcpu[p] as number,
      value: this.#value[p] as number,
      remoteDom: this.#remoteDom[p] as number,
    }
  }

  /** Whether a backend handler is attached to `port`. */
  hasBackend(port: number): boolean {
    return this.#backends.has(port)
  }

  /** Every open port (snapshot). */
  records(): PortRecord[] {
    const out: PortRecord[] = []
    for (let p = 1; p < MAX_PORTS; p++)
      if (this.#status[p] !== EVTCHNSTAT.closed) out.push(this.describe(p))
    return out
  }

  /** Re-creates an open port exactly (snapshot restore); the caller validated the record. */
  restore(r: PortRecord): void {
    this.#status[r.port] = r.status
    this.#vcpu[r.port] = r.vcpu
    this.#value[r.port] = r.value
    this.#remoteDom[r.port] = r.remoteDom
    this.#generation++
    if (r.status === EVTCHNSTAT.virq) this.#virqPort[this.#virqSlot(r.value, r.vcpu)] = r.port
  }
}
