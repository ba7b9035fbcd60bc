// EvtchnEngine: one guest domain's Xen event channels, composing the 2-level delivery rules, the
// port table, hypercall argument handling, VIRQ_TIMER timers and snapshots.
import type { GuestMemory } from '@tsvmm/guest-memory'
import { EvtchnError, XenErrno } from './errno.js'
import {
  copyFromGuest,
  copyToGuest,
  eventChannelOp,
  type RegisterValue,
  vcpuOp,
} from './hypercall.js'
import {
  DOMID_FIRST_RESERVED,
  EVTCHNSTAT,
  type TwoLevelGeometry,
  VCPU_INFO_SIZE,
  VIRQ,
} from './layout.js'
import type { BackendHandler, Deliver, PortRecord } from './port-records.js'
import { PortTable } from './ports.js'
import {
  type EvtchnSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  validateSnapshot,
} from './snapshot.js'
import { type EvtchnClock, monotonicClock, VcpuTimers } from './timers.js'
import { type Notify, TwoLevel } from './two-level.js'

/** Options of {@link EvtchnEngine}. */
export interface EvtchnEngineOptions {
  /** The guest's memory; shared_info and vcpu_info pages must be inside it. */
  memory: GuestMemory
  /** Number of vCPUs (indexes 0 .. vcpus - 1 are Xen vCPU ids). */
  vcpus: number
  /** Guest width: 64-bit (default) or 32-bit (compat). */
  longMode?: boolean
  /** Called when a vCPU needs its upcall; the VMM injects the vector and kicks the vCPU. */
  notify: Notify
  /** Time source for VIRQ_TIMER (default: the host's monotonic clock from engine creation). */
  clock?: EvtchnClock
  /** This domain's id, what DOMID_SELF stands for (default 1; 0 is the backend domain). */
  domid?: number
  /** Receives exceptions thrown by `notify` or backend handlers (default: ignored). */
  onError?: (error: unknown) => void
}

/** Options of {@link EvtchnEngine.restore}. */
export type EvtchnRestoreOptions = Pick<
  EvtchnEngineOptions,
  'memory' | 'notify' | 'clock' | 'onError'
>

/**
 * What the engine tells the one component that mirrors its state elsewhere (the kernel offload),
 * once the operation that changed it has finished.
 */
export interface EvtchnObserver {
  /** A port was opened, closed, rebound, moved to another vCPU or given or taken a backend. */
  portsChanged(): void
  /** The guest registered `vcpu`'s vcpu_info at `gpa` (VCPUOP_register_vcpu_info). */
  vcpuInfoRegistered(vcpu: number, gpa: number): void
}

/** The state of one port, as the VMM sees it. */
export interface PortInfo extends PortRecord {
  /** Whether the pending bit is set in shared_info. */
  pending: boolean
  /** Whether the mask bit is set in shared_info. */
  masked: boolean
  /** Whether a backend handler is attached. */
  backend: boolean
}

/**
 * Xen 2-level event channels for one guest, in userspace.
 *
 * Guest-facing entry points ({@link hypercall}, {@link setTimerOp}, {@link vcpuOp},
 * {@link setPending}) never throw: they return what Xen would put in RAX or what the kernel's
 * set_evtchn returns. VMM-side configuration ({@link setSharedInfo}, {@link setVcpuInfo}, the
 * constructor, {@link restore}) throws {@link EvtchnError} for bad values.
 *
 * @example
 * const engine = new EvtchnEngine({ memory, vcpus: 2, notify: (v) => vm.injectUpcall(v) })
 * engine.setSharedInfo(0x10000)
 * engine.setVcpuInfo(0, 0x10000) // Xen's default slot for vCPU 0
 * const rax = engine.hypercall(EVTCHNOP.bind_ipi, argGpa, 0)
 */
export class EvtchnEngine {
  readonly #memory: GuestMemory
  readonly #two: TwoLevel
  readonly #ports: PortTable
  readonly #timers: VcpuTimers
  readonly #registered: boolean[]
  readonly #userspaceDeliver: Deliver
  #observer: EvtchnObserver | null = null

  constructor(options: EvtchnEngineOptions) {
    const { memory, vcpus, notify } = options
    if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 0xffff)
      throw new EvtchnError('EINVAL', 'EvtchnEngine', 'vcpus must be an integer in 1..65535')
    const domid = options.domid ?? 1
    if (!Number.isInteger(domid) || domid < 1 || domid >= DOMID_FIRST_RESERVED)
      throw new EvtchnError(
        'EINVAL',
        'EvtchnEngine',
        'domid must be in 1..0x7fef (0 is the backend domain)',
      )
    if (typeof notify !== 'function')
      throw new EvtchnError('EINVAL', 'EvtchnEngine', 'notify must be a function')
    const onError = options.onError ?? (() => {})
    this.#memory = memory
    this.#two = new TwoLevel(memory, vcpus, options.longMode ?? true, notify, onError)
    this.#ports = new PortTable(this.#two, domid, onError)
    this.#userspaceDeliver = this.#ports.deliver
    this.#timers = new VcpuTimers(options.clock ?? monotonicClock(), vcpus, (vcpu) => {
      this.#ports.raiseVirq(VIRQ.TIMER, vcpu)
    })
    this.#registered = new Array<boolean>(vcpus).fill(false)
  }

  /** The guest memory the engine works on. */
  get memory(): GuestMemory {
    return this.#memory
  }

  /** Number of vCPUs. */
  get vcpus(): number {
    return this.#two.vcpus
  }

  /** This domain's id. */
  get domid(): number {
    return this.#ports.domid
  }

  /** Whether the guest is 64-bit (long mode). */
  get longMode(): boolean {
    return this.#two.geometry.longMode
  }

  /** The current 2-level geometry (port limit, mask base, selector width). */
  get geometry(): TwoLevelGeometry {
    return this.#two.geometry
  }

  /** GPA of shared_info, or null. */
  get sharedInfo(): number | null {
    return this.#two.sharedInfo
  }

  /** GPA of `vcpu`'s vcpu_info, or null. */
  vcpuInfo(vcpu: number): number | null {
    return this.#two.vcpuInfo(vcpu)
  }

  /** Whether the guest registered `vcpu`'s vcpu_info itself (VCPUOP_register_vcpu_info). */
  vcpuInfoRegistered(vcpu: number): boolean {
    return this.#registered[vcpu] === true
  }

  /** The clock VIRQ_TIMER runs on. */
  get clock(): EvtchnClock {
    return this.#timers.clock
  }

  /** Switches the guest width (the VMM calls it when the guest sets up its hypercall page). */
  setLongMode(on: boolean): void {
    this.#two.setLongMode(on)
  }

  /** Sets (or clears, with null) the page-aligned GPA of shared_info. Throws {@link EvtchnError}. */
  setSharedInfo(gpa: number | null): void {
    this.#two.setSharedInfo(gpa)
  }

  /**
   * Sets (or clears) `vcpu`'s vcpu_info GPA. The engine has no default: the VMM applies Xen's
   * (`shared_info + 64 * vcpu` for vCPUs below 32) when the guest maps shared_info. Selector
   * bits held while the vCPU had none are delivered now. Throws {@link EvtchnError}.
   */
  setVcpuInfo(vcpu: number, gpa: number | null): void {
    this.#two.setVcpuInfo(vcpu, gpa)
  }

  /**
   * Delivers `port` to `vcpu` directly, as a KVM XEN_EVTCHN route or KVM_XEN_HVM_EVTCHN_SEND
   * does: 1 delivered, 0 already pending, -ENOTCONN masked, -EINVAL invalid. The hot path.
   */
  setPending(port: number, vcpu: number): number {
    return this.#two.setPending(port, vcpu)
  }

  /**
   * HYPERVISOR_event_channel_op(cmd, arg) issued by `vcpu`: the argument struct is copied from
   * guest memory at `argGpa`, results are written back, and the return value is the guest's RAX.
   */
  hypercall(cmd: RegisterValue, argGpa: RegisterValue, vcpu: number): number {
    if (!this.#two.validVcpu(vcpu)) return -XenErrno.EINVAL
    return this.#reportingPorts(() => eventChannelOp(this.#ports, this.#memory, cmd, argGpa))
  }

  /**
   * Sets (or with null removes) the observer told about port-table changes and vcpu_info
   * registrations: the kernel offload, which keeps KVM's copy of them.
   */
  observe(observer: EvtchnObserver | null): void {
    this.#observer = observer
  }

  // Runs `op`, then tells the observer if the port table changed under it.
  #reportingPorts<T>(op: () => T): T {
    const before = this.#ports.generation
    const result = op()
    if (this.#ports.generation !== before) this.#observer?.portsChanged()
    return result
  }

  /** HYPERVISOR_set_timer_op(timeout) issued by `vcpu` (timeout: absolute system time in ns). */
  setTimerOp(vcpu: number, timeout: RegisterValue): number {
    if (!this.#two.validVcpu(vcpu)) return -XenErrno.EINVAL
    const t =
      typeof timeout === 'bigint' ? timeout : Number.isSafeInteger(timeout) ? BigInt(timeout) : null
    if (t === null) return -XenErrno.EINVAL
    return this.#timers.setTimerOp(vcpu, BigInt.asUintN(64, t))
  }

  /**
   * HYPERVISOR_vcpu_op(cmd, vcpuId, arg) issued by `caller`, for the timer commands and
   * register_vcpu_info; -ENOSYS for the commands the VMM must serve itself.
   */
  vcpuOp(cmd: RegisterValue, vcpuId: RegisterValue, argGpa: RegisterValue, caller: number): number {
    if (!this.#two.validVcpu(caller)) return -XenErrno.EINVAL
    const timers = this.#timers
    return vcpuOp(
      {
        memory: this.#memory,
        longMode: this.longMode,
        validVcpu: (v) => this.#two.validVcpu(v),
        setSingleshot: (v, t, future) => timers.setSingleshot(v, t, future),
        stopSingleshot: (v) => timers.stopSingleshot(v),
        setPeriodic: (v, p) => timers.setPeriodic(v, p),
        stopPeriodic: (v) => timers.stopPeriodic(v),
        registerVcpuInfo: (v, gpa) => this.#registerVcpuInfo(v, gpa),
      },
      cmd,
      vcpuId,
      argGpa,
      caller,
    )
  }

  // VCPUOP_register_vcpu_info (map_vcpu_info): once per vCPU; the old vcpu_info's contents move
  // to the new place, then every selector bit and upcall_pending are set so nothing is dropped.
  #registerVcpuInfo(vcpu: number, gpa: number): number {
    if (this.#registered[vcpu]) return -XenErrno.EINVAL
    const old = this.#two.vcpuInfo(vcpu)
    const saved = old === null ? null : copyFromGuest(this.#memory, old, VCPU_INFO_SIZE)
    try {
      this.#two.setVcpuInfo(vcpu, gpa)
    } catch (e) {
      return e instanceof EvtchnError ? -XenErrno.EINVAL : -XenErrno.EFAULT
    }
    if (saved !== null) copyToGuest(this.#memory, gpa, saved)
    this.#registered[vcpu] = true
    this.#two.markAllPending(vcpu)
    this.#observer?.vcpuInfoRegistered(vcpu, gpa)
    return 0
  }

  // ---- VMM side: backends and VIRQs ----

  /**
   * Allocates a guest port unbound for the backend domain (as a toolstack does for the xenstore
   * or console ring), notifying `vcpu`. Returns the port, or -ENOSPC / -ENOENT.
   */
  backendAllocUnbound(vcpu = 0): number {
    return this.#reportingPorts(() => this.#ports.backendAllocUnbound(vcpu))
  }

  /**
   * Connects a device backend to guest port `port` (unbound for the backend domain, allocated
   * by {@link backendAllocUnbound} or by the guest's alloc_unbound with remote_dom 0). Guest
   * sends on it call `onSend(port)`. 0, -EINVAL (wrong port), -EBUSY (already attached).
   */
  backendBind(port: number, onSend: BackendHandler): number {
    return this.#reportingPorts(() => this.#ports.backendBind(port, onSend))
  }

  /** Disconnects the backend from `port`; the guest sees its port unbound again. 0 or -EINVAL. */
  backendUnbind(port: number): number {
    return this.#reportingPorts(() => this.#ports.backendUnbind(port))
  }

  /** Sends an event from the backend to the guest on `port`: the set_pending code, or -EINVAL. */
  backendNotify(port: number): number {
    return this.#ports.backendNotify(port)
  }

  /**
   * EVTCHNOP_send on `port` on the guest's behalf, when the guest's send reached the VMM another
   * way than the hypercall (the kernel offload's eventfd for a backend port): 0 or -EINVAL.
   */
  guestSend(port: number): number {
    return this.#ports.send(port)
  }

  /**
   * Raises `virq` on `vcpu` (a global VIRQ goes where its port is bound): the set_pending code,
   * -ENOENT if the guest bound no port to it, -EINVAL for a bad VIRQ or vCPU.
   */
  raiseVirq(virq: number, vcpu: number): number {
    return this.#ports.raiseVirq(virq, vcpu)
  }

  /** The port bound to `virq` on `vcpu` (vCPU 0 for global VIRQs), or 0. */
  virqPort(virq: number, vcpu: number): number {
    return this.#ports.virqPort(virq, vcpu)
  }

  /** What the engine knows about `port`, plus its pending and mask bits. */
  portInfo(port: number): PortInfo {
    return {
      ...this.#ports.describe(port),
      pending: this.#two.isPending(port),
      masked: this.#two.isMasked(port),
      backend: this.#ports.hasBackend(port),
    }
  }

  /** Every open port. */
  openPorts(): PortRecord[] {
    return this.#ports.records()
  }

  /**
   * Routes port-table deliveries (sends, VIRQs, backend notifications, timers) through `deliver`
   * instead of the userspace 2-level code, or back with null. For the kernel offload.
   */
  useDelivery(deliver: Deliver | null): void {
    this.#ports.deliver = deliver ?? this.#userspaceDeliver
  }

  /** Stops every timer; call when the VM goes away. */
  dispose(): void {
    this.#timers.stopAll()
  }

  // ---- snapshots ----

  /** The engine's whole state as versioned JSON-serialisable data (not guest memory). */
  snapshot(): EvtchnSnapshot {
    const vcpus = this.vcpus
    return {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      vcpus,
      domid: this.domid,
      longMode: this.longMode,
      sharedInfo: this.sharedInfo,
      vcpuInfo: Array.from({ length: vcpus }, (_, v) => this.#two.vcpuInfo(v)),
      vcpuInfoRegistered: [...this.#registered],
      shadowSelectors: Array.from({ length: vcpus }, (_, v) => this.#two.shadowSelector(v)),
      ports: this.#ports.records(),
      timers: this.#timers.records(),
    }
  }

  /**
   * Rebuilds an engine from {@link EvtchnEngine.snapshot | snapshot()} data on the same guest memory. Backend ports come
   * back bound but without handlers: call {@link backendBind} again to re-attach them. Throws
   * {@link EvtchnError} for malformed data or addresses outside `memory`.
   */
  static restore(snapshot: unknown, options: EvtchnRestoreOptions): EvtchnEngine {
    const s = validateSnapshot(snapshot)
    const engine = new EvtchnEngine({
      ...options,
      vcpus: s.vcpus,
      longMode: s.longMode,
      domid: s.domid,
    })
    engine.#restoreState(s)
    return engine
  }

  #restoreState(s: EvtchnSnapshot): void {
    this.#two.setSharedInfo(s.sharedInfo)
    s.vcpuInfo.forEach((gpa, v) => {
      if (gpa !== null) this.#two.restoreVcpuInfo(v, gpa)
    })
    s.shadowSelectors.forEach(([lo, hi], v) => {
      this.#two.restoreShadow(v, lo, hi)
    })
    s.vcpuInfoRegistered.forEach((r, v) => {
      this.#registered[v] = r
    })
    for (const p of s.ports) if (p.status !== EVTCHNSTAT.closed) this.#ports.restore(p)
    for (const t of s.timers) this.#timers.restore(t)
  }
}
