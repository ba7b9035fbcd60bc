// Kernel offload of event channel delivery: the one owner of everything KVM knows about a
// domain's event channels (it and kvm-backends.ts alone import @tsvmm/kvm-sys's root). When KVM
// advertises KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL and EVTCHN_SEND, the kernel is given shared_info,
// each vCPU's vcpu_info and Xen vCPU id, and the upcall vectors, and then:
//   - VMM -> guest deliveries go through KVM_XEN_HVM_EVTCHN_SEND (the kernel injects the upcall);
//   - IPI, loopback, backend and VIRQ_TIMER ports are kept assigned to KVM (kernel-ports.ts),
//     following the engine's reports of port-table changes (EvtchnObserver);
//   - a backend raises its port by writing an eventfd (an irqfd on a XEN_EVTCHN route).
// vCPU attributes go through the VMM's vCPU port ("now or before the vCPU's next KVM_RUN"):
// KVM_RUN holds the vCPU mutex while the guest sleeps in the kernel, so a vCPU ioctl issued here
// could block for ever. The port table stays in the engine; without those capabilities everything
// goes through it. The guest's memory ends up the same either way (the KVM suites check it).
import { RoutingTable } from '@tsvmm/irq-routing'
import { abi, type EventFd, isKvmError, type Vcpu, type Vm, type XenVcpuAttr } from '@tsvmm/kvm-sys'
import type { EvtchnEngine } from './engine.js'
import { EvtchnError, XenErrno } from './errno.js'
import { KernelPorts, type KernelSend } from './kernel-ports.js'
import { deassignEvtchn, KernelBackends } from './kvm-backends.js'
import { PAGE_SIZE } from './layout.js'
import type { BackendHandler } from './port-records.js'

/**
 * The VMM's vCPUs as the offload reaches them. A threaded VMM queues `setAttr` for the vCPU's own
 * thread and kicks it out of KVM_RUN; {@link sameThreadVcpus} is the port of a VMM that runs its
 * vCPUs on the thread that uses the offload.
 */
export interface VcpuPort {
  /** Number of vCPUs (Xen vCPU ids 0 .. count - 1). */
  readonly count: number
  /** KVM vCPU id (local APIC ID) of Xen vCPU `vcpu`: what routes and EVTCHN_SEND name. */
  apicId(vcpu: number): number
  /** KVM_XEN_VCPU_SET_ATTR on `vcpu`, now or before its next KVM_RUN, in the order given. */
  setAttr(vcpu: number, attr: XenVcpuAttr): void
  /** Makes `vcpu` leave KVM_RUN once. */
  kick(vcpu: number): void
}

/** The vCPU port of vCPUs that only ever run on the calling thread (tests, single-threaded VMMs). */
export function sameThreadVcpus(vcpus: readonly Vcpu[]): VcpuPort {
  return {
    count: vcpus.length,
    apicId: (v) => vcpus[v]?.id ?? -1,
    setAttr: (v, attr) => vcpus[v]?.xenVcpuSetAttr(attr),
    kick: (v) => vcpus[v]?.kick(),
  }
}

/** Options of {@link KvmEvtchn}. */
export interface KvmEvtchnOptions {
  /** The userspace engine, over the VM's memory (its port table is the one in use). */
  engine: EvtchnEngine
  /** The VM. */
  vm: Vm
  /** The VM's vCPUs, indexed by Xen vCPU id (engine vCPU index). */
  vcpus: VcpuPort
  /**
   * The VM's GSI routing table, shared with the VMM's other routes; backend ports add XEN_EVTCHN
   * routes to it. Default: a table of its own (only right if nothing else routes GSIs).
   */
  routing?: RoutingTable
  /** KVM_CAP_XEN_HVM flags (default: asked from the VM). */
  xenHvmFlags?: number
  /** Deliver in the kernel (default: when the flags allow it). true where they do not: EINVAL. */
  kernel?: boolean
  /**
   * With delivery in userspace, still give KVM the guest width, each vcpu_info and the upcall
   * vectors, so that it keeps the guest's pvclock current, injects the VM-wide callback vector
   * while upcall_pending is set, and injects a vCPU's own vector when the guest software-enables
   * its local APIC with an upcall pending (kvm_xen_sw_enable_lapic). That last one matters: KVM's
   * local APIC drops a fixed interrupt while it is disabled (Xen's vlapic keeps it in IRR), and
   * Linux registers its upcall vector before it enables the APIC, while the upcall that
   * VCPUOP_register_vcpu_info marks pending is still waiting; without KVM's re-injection that
   * upcall is lost, upcall_pending stays set, and no event reaches the vCPU again (default false).
   */
  pvclock?: boolean
  /** Kernel errors while keeping the kernel in step (the engine keeps serving). */
  onError?: (error: unknown) => void
}

/** Whether KVM with these KVM_CAP_XEN_HVM flags can deliver 2-level events itself. */
export function kernelCanDeliver(xenHvmFlags: number): boolean {
  const need = abi.KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL | abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND
  return (xenHvmFlags & need) === need
}

/**
 * Event channels of one VM with delivery in the kernel when KVM offers it. Configuration that
 * KVM must also know (shared_info, vcpu_info, vectors) goes through its methods; hypercalls and
 * backend operations go to the engine directly, which reports port-table changes here.
 */
export class KvmEvtchn {
  /** The userspace engine (port table, hypercalls). */
  readonly engine: EvtchnEngine
  /** True when delivery goes through the kernel. */
  readonly inKernel: boolean
  readonly #vm: Vm
  readonly #vcpus: VcpuPort
  readonly #tellsKvm: boolean
  /** KVM is told each vCPU's upcall vector. */
  readonly #vcpuVectors: boolean
  readonly #onError: (e: unknown) => void
  readonly #ports: KernelPorts
  readonly #backends: KernelBackends
  readonly #sendArg = { port: 0, vcpu: 0 }

  constructor(options: KvmEvtchnOptions) {
    const { engine, vm, vcpus } = options
    if (vcpus.count !== engine.vcpus)
      throw new EvtchnError(
        'EINVAL',
        'KvmEvtchn',
        `engine has ${engine.vcpus} vCPUs, got ${vcpus.count}`,
      )
    this.engine = engine
    this.#vm = vm
    this.#vcpus = vcpus
    this.#onError = options.onError ?? (() => {})
    const flags = options.xenHvmFlags ?? vm.checkExtension(abi.Cap.XEN_HVM)
    if (options.kernel === true && !kernelCanDeliver(flags))
      throw new EvtchnError('EINVAL', 'KvmEvtchn', 'KVM cannot deliver 2-level events itself')
    this.inKernel = options.kernel ?? kernelCanDeliver(flags)
    this.#tellsKvm = this.inKernel || options.pvclock === true
    // The per-vCPU vector attribute came with EVTCHN_SEND (Linux 6.2); older kernels refuse it.
    this.#vcpuVectors =
      this.inKernel || (this.#tellsKvm && (flags & abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND) !== 0)
    this.#backends = new KernelBackends(
      vm,
      engine,
      this.inKernel ? (options.routing ?? new RoutingTable(vm)) : null,
      (v) => vcpus.apicId(v),
      this.#onError,
    )
    this.#ports = new KernelPorts(this.#kernelTarget(), vcpus.count, engine.domid)
    engine.observe({
      portsChanged: () => this.#sync(),
      vcpuInfoRegistered: (vcpu, gpa) => this.#kernelVcpuInfo(vcpu, gpa),
    })
    if (this.#tellsKvm) {
      // Tell the kernel what the engine already knows (a fresh or a restored engine).
      this.#kernelLongMode(engine.longMode)
      if (this.inKernel) this.#kernelSharedInfo(engine.sharedInfo)
      for (let v = 0; v < vcpus.count; v++) {
        if (this.inKernel) vcpus.setAttr(v, { type: 'VCPU_ID', vcpuId: v })
        this.#kernelVcpuInfo(v, engine.vcpuInfo(v))
      }
    }
    if (this.inKernel) engine.useDelivery((port, vcpu) => this.#kernelSend(port, vcpu))
    this.#sync()
  }

  /** KVM vCPU id (APIC ID) of Xen vCPU `vcpu`: what routes and EVTCHN_SEND name. */
  apicId(vcpu: number): number {
    return this.#vcpus.apicId(vcpu)
  }

  /** Ports whose guest sends the kernel handles (IPI and loopback). */
  get kernelSendPorts(): number {
    return this.#ports.assigned.size
  }

  /** Sets the guest width in the engine and the kernel (KVM_XEN_ATTR_TYPE_LONG_MODE). */
  setLongMode(on: boolean): void {
    this.engine.setLongMode(on)
    if (this.#tellsKvm) this.#kernelLongMode(on)
  }

  /** Sets shared_info in the engine and the kernel (KVM_XEN_ATTR_TYPE_SHARED_INFO). */
  setSharedInfo(gpa: number | null): void {
    this.engine.setSharedInfo(gpa)
    if (this.inKernel) this.#kernelSharedInfo(gpa)
  }

  /** Sets a vCPU's vcpu_info in the engine and the kernel (KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO). */
  setVcpuInfo(vcpu: number, gpa: number | null): void {
    this.engine.setVcpuInfo(vcpu, gpa)
    this.#kernelVcpuInfo(vcpu, gpa)
  }

  /**
   * The VM-wide upcall vector the kernel injects while upcall_pending is set
   * (KVM_XEN_ATTR_TYPE_UPCALL_VECTOR): 0 turns it off, 0x01-0x0F are invalid.
   */
  setUpcallVector(vector: number): void {
    checkVector(vector)
    // With `pvclock` too: KVM then injects it on entry while vcpu_info's upcall_pending is set.
    if (this.#tellsKvm) this.#vm.xenHvmSetAttr({ type: 'UPCALL_VECTOR', vector })
  }

  /** A vCPU's own upcall vector (HVMOP_set_evtchn_upcall_vector), edge-triggered. */
  setVcpuUpcallVector(vcpu: number, vector: number): void {
    checkVector(vector)
    this.#checkVcpu(vcpu)
    // With `pvclock` too (see there): KVM then re-injects it when the local APIC is enabled.
    if (this.#vcpuVectors) this.#vcpus.setAttr(vcpu, { type: 'UPCALL_VECTOR', vector })
  }

  /**
   * Delivers `port` to `vcpu`. In the kernel: KVM_XEN_HVM_EVTCHN_SEND, which does not say whether
   * the port was new, coalesced or masked, so 1 stands for "handed to the kernel" (and -EINVAL
   * or another negative errno for a refusal). Otherwise the engine's set_pending codes.
   */
  setPending(port: number, vcpu: number): number {
    return this.inKernel ? this.#kernelSend(port, vcpu) : this.engine.setPending(port, vcpu)
  }

  /**
   * Connects a backend to guest port `port` (see {@link EvtchnEngine.backendBind}); the same as
   * the engine's, kept for symmetry with {@link backendNotifyFd}.
   */
  backendBind(port: number, onSend: BackendHandler): number {
    return this.engine.backendBind(port, onSend)
  }

  /** Disconnects the backend from `port`. */
  backendUnbind(port: number): number {
    return this.engine.backendUnbind(port)
  }

  /** Sends from the backend to the guest on `port` (through the kernel when offloaded). */
  backendNotify(port: number): number {
    return this.engine.backendNotify(port)
  }

  /**
   * The eventfd a device writes to raise backend port `port` in the guest: an irqfd on its
   * XEN_EVTCHN route in the kernel; otherwise watched on the event loop, which raises the port on
   * its next turn (or at once by {@link pollBackends}). Null if `port` has no backend.
   */
  backendNotifyFd(port: number): EventFd | null {
    return this.#backends.notifyFd(port)
  }

  /**
   * The eventfd the kernel signals when the guest sends on backend port `port`, or null. The
   * offload watches it and calls the backend's handler on the loop's next turn; a caller reading
   * it takes those sends from the handler.
   */
  backendSendFd(port: number): EventFd | null {
    return this.#backends.sendFd(port)
  }

  /**
   * Reads every backend's eventfds now: a guest send the kernel took calls the backend's handler
   * once (sends coalesce, as events do); in userspace delivery a device's notification raises the
   * port as KVM's irqfd would (set_pending on the port's vCPU). Returns how many handlers ran.
   * The offload watches these eventfds on the event loop, so nothing is missed without it; call
   * it when the effects must be seen before the loop turns (a test, a synchronous device).
   */
  pollBackends(): number {
    return this.#backends.poll()
  }

  /** Releases the kernel resources (eventfds, routes, port assignments). */
  close(): void {
    this.engine.observe(null)
    this.#ports.clear()
    this.#backends.dropAll()
    if (this.inKernel) this.engine.useDelivery(null)
  }

  // ---- kernel state ----

  #checkVcpu(vcpu: number): void {
    if (!(Number.isInteger(vcpu) && vcpu >= 0 && vcpu < this.#vcpus.count))
      throw new EvtchnError('EINVAL', 'KvmEvtchn', `vCPU ${vcpu} does not exist`)
  }

  #kernelLongMode(on: boolean): void {
    this.#vm.xenHvmSetAttr({ type: 'LONG_MODE', longMode: on })
  }

  #kernelSharedInfo(gpa: number | null): void {
    const gfn = gpa === null ? abi.KVM_XEN_INVALID_GFN : BigInt(gpa / PAGE_SIZE)
    this.#vm.xenHvmSetAttr({ type: 'SHARED_INFO', gfn })
  }

  #kernelVcpuInfo(vcpu: number, gpa: number | null): void {
    this.#checkVcpu(vcpu)
    if (!this.#tellsKvm) return
    this.#vcpus.setAttr(vcpu, {
      type: 'VCPU_INFO',
      gpa: gpa === null ? abi.KVM_XEN_INVALID_GPA : BigInt(gpa),
    })
  }

  // KVM_XEN_HVM_EVTCHN_SEND. Invalid ports and vCPUs are refused here with the engine's code,
  // so the kernel is only asked about deliveries the engine would also attempt.
  #kernelSend(port: number, vcpu: number): number {
    if (!(port > 0 && port < this.engine.geometry.portLimit && (port | 0) === port))
      return -XenErrno.EINVAL
    if (!(vcpu >= 0 && vcpu < this.#vcpus.count) || this.engine.sharedInfo === null)
      return -XenErrno.EINVAL
    this.#sendArg.port = port
    this.#sendArg.vcpu = this.#vcpus.apicId(vcpu)
    try {
      this.#vm.xenEvtchnSend(this.#sendArg)
      return 1
    } catch (e) {
      // kvm-sys's errors carry the negative errno, as Node's own do.
      return isKvmError(e) && e.errno < 0 ? e.errno : -XenErrno.EINVAL
    }
  }

  // The engine's port table changed: assignments in the kernel follow (userspace delivery keeps
  // only the backends' notification eventfds).
  #sync(): void {
    try {
      this.#ports.sync(this.engine.openPorts(), (p) => this.engine.portInfo(p).backend)
    } catch (e) {
      this.#onError(e)
    }
  }

  #kernelTarget() {
    const kernel = this.inKernel
    const tryKvm = (f: () => void): boolean => {
      try {
        f()
        return true
      } catch (e) {
        // The port keeps being served in userspace; the next sync tries again.
        this.#onError(e)
        return false
      }
    }
    return {
      assign: (s: KernelSend) =>
        kernel &&
        tryKvm(() =>
          this.#vm.xenHvmSetAttr({
            type: 'EVTCHN',
            sendPort: s.sendPort,
            evtchnType: s.evtchnType,
            flags: 0,
            deliver: { port: s.port, vcpu: this.#vcpus.apicId(s.vcpu) },
          }),
        ),
      deassign: (sendPort: number) => {
        if (kernel) tryKvm(() => deassignEvtchn(this.#vm, sendPort))
      },
      setTimerPort: (vcpu: number, port: number) =>
        kernel &&
        tryKvm(() =>
          this.#vcpus.setAttr(vcpu, {
            type: 'TIMER',
            port,
            priority: abi.KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
            expiresNs: 0n,
          }),
        ),
      addBackend: (port: number, vcpu: number) => this.#backends.add(port, vcpu),
      moveBackend: (port: number, vcpu: number) => this.#backends.move(port, vcpu),
      dropBackend: (port: number) => this.#backends.drop(port),
    }
  }
}

function checkVector(vector: number): void {
  if (!Number.isInteger(vector) || vector < 0 || vector > 0xff || (vector > 0 && vector < 0x10))
    throw new EvtchnError('EINVAL', 'setUpcallVector', 'the vector must be 0 (off) or 0x10-0xff')
}
