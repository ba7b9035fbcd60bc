// Kernel offload of event channel delivery (the only file that imports @tsvmm/kvm-sys's root).
// When KVM advertises KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL and EVTCHN_SEND, the kernel is given
// shared_info, each vCPU's vcpu_info and Xen vCPU id, and the upcall vector, and then:
//   - VMM -> guest deliveries go through KVM_XEN_HVM_EVTCHN_SEND (the kernel injects the upcall);
//   - backend ports get a XEN_EVTCHN GSI route with an irqfd, so a device thread raises the port
//     by writing an eventfd, with no userspace work;
//   - the guest's EVTCHNOP_send on IPI ports and backend ports is handled in the kernel
//     (KVM_XEN_ATTR_TYPE_EVTCHN: loop back to the port, or signal the backend's eventfd).
// The port table stays in the userspace engine. Without those capabilities everything goes
// through the engine. The guest's memory ends up the same either way (the KVM suite checks it).
import { RoutingTable } from '@tsvmm/irq-routing'
import { abi, EventFd, type Vcpu, type Vm } from '@tsvmm/kvm-sys'
import type { EvtchnEngine } from './engine.js'
import { EvtchnError, XenErrno } from './errno.js'
import type { RegisterValue } from './hypercall.js'
import { EVTCHNOP, EVTCHNSTAT, PAGE_SIZE } from './layout.js'
import type { BackendHandler } from './ports.js'

/** Options of {@link KvmEvtchn}. */
export interface KvmEvtchnOptions {
  /** The userspace engine, over the VM's memory (its port table is the one in use). */
  engine: EvtchnEngine
  /** The VM. */
  vm: Vm
  /** The VM's vCPUs, indexed by Xen vCPU id (engine vCPU index). */
  vcpus: readonly Vcpu[]
  /**
   * The VM's GSI routing table, shared with the VMM's other routes; backend ports add XEN_EVTCHN
   * routes to it. Default: a table of its own (only right if nothing else routes GSIs).
   */
  routing?: RoutingTable
  /** KVM_CAP_XEN_HVM flags (default: asked from the VM). */
  xenHvmFlags?: number
  /** Kernel errors while keeping the kernel in step (the engine keeps serving). */
  onError?: (error: unknown) => void
}

interface KernelBackend {
  /** Guest -> backend: the kernel signals it on the guest's EVTCHNOP_send. */
  sendFd: EventFd
  /** Backend -> guest: writing it raises the port through the irqfd route. */
  notifyFd: EventFd
  gsi: number
  /** Xen vCPU the route currently targets. */
  vcpu: number
}

/** Whether KVM with these KVM_CAP_XEN_HVM flags can deliver 2-level events itself. */
export function kernelCanDeliver(xenHvmFlags: number): boolean {
  const need = abi.KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL | abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND
  return (xenHvmFlags & need) === need
}

/**
 * Event channels of one VM with delivery in the kernel when KVM offers it. Use its methods in
 * place of the engine's for everything that changes what the kernel must know (configuration,
 * hypercalls, backends); deliveries the engine makes on its own (timers, VIRQs, sends on
 * loopback ports) are routed to the kernel automatically.
 */
export class KvmEvtchn {
  /** The userspace engine (port table, hypercalls). */
  readonly engine: EvtchnEngine
  /** True when delivery goes through the kernel. */
  readonly inKernel: boolean
  readonly #vm: Vm
  readonly #vcpus: readonly Vcpu[]
  readonly #routing: RoutingTable | null
  readonly #onError: (e: unknown) => void
  readonly #backends = new Map<number, KernelBackend>()
  /** IPI ports the kernel handles sends on: port -> Xen vCPU. */
  readonly #ipis = new Map<number, number>()
  readonly #sendArg = { port: 0, vcpu: 0 }

  constructor(options: KvmEvtchnOptions) {
    const { engine, vm, vcpus } = options
    if (vcpus.length !== engine.vcpus)
      throw new EvtchnError(
        'EINVAL',
        'KvmEvtchn',
        `engine has ${engine.vcpus} vCPUs, got ${vcpus.length}`,
      )
    this.engine = engine
    this.#vm = vm
    this.#vcpus = vcpus
    this.#onError = options.onError ?? (() => {})
    const flags = options.xenHvmFlags ?? vm.checkExtension(abi.Cap.XEN_HVM)
    this.inKernel = kernelCanDeliver(flags)
    this.#routing = this.inKernel
      ? (options.routing ??
        new RoutingTable({
          setGsiRouting: (t) => vm.setGsiRouting(t),
          irqfd: (r) => vm.irqfd({ fd: r.fd, gsi: r.gsi, deassign: r.deassign }),
        }))
      : null
    if (!this.inKernel) return
    // Tell the kernel what the engine already knows (a fresh or a restored engine).
    this.#kernelLongMode(engine.longMode)
    this.#kernelSharedInfo(engine.sharedInfo)
    vcpus.forEach((v, xenId) => {
      v.xenVcpuSetAttr({ type: 'VCPU_ID', vcpuId: xenId })
      this.#kernelVcpuInfo(xenId, engine.vcpuInfo(xenId))
    })
    engine.useDelivery((port, vcpu) => this.#kernelSend(port, vcpu))
    this.#sync()
  }

  /** KVM vCPU id (APIC ID) of Xen vCPU `vcpu`: what routes and EVTCHN_SEND name. */
  apicId(vcpu: number): number {
    return this.#vcpus[vcpu]?.id ?? -1
  }

  /** Sets the guest width in the engine and the kernel (KVM_XEN_ATTR_TYPE_LONG_MODE). */
  setLongMode(on: boolean): void {
    this.engine.setLongMode(on)
    if (this.inKernel) this.#kernelLongMode(on)
  }

  /** Sets shared_info in the engine and the kernel (KVM_XEN_ATTR_TYPE_SHARED_INFO). */
  setSharedInfo(gpa: number | null): void {
    this.engine.setSharedInfo(gpa)
    if (this.inKernel) this.#kernelSharedInfo(gpa)
  }

  /** Sets a vCPU's vcpu_info in the engine and the kernel (KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO). */
  setVcpuInfo(vcpu: number, gpa: number | null): void {
    this.engine.setVcpuInfo(vcpu, gpa)
    if (this.inKernel) this.#kernelVcpuInfo(vcpu, gpa)
  }

  /**
   * The VM-wide upcall vector the kernel injects while upcall_pending is set
   * (KVM_XEN_ATTR_TYPE_UPCALL_VECTOR): 0 turns it off, 0x01-0x0F are invalid.
   */
  setUpcallVector(vector: number): void {
    checkVector(vector)
    if (this.inKernel) this.#vm.xenHvmSetAttr({ type: 'UPCALL_VECTOR', vector })
  }

  /** A vCPU's own upcall vector (HVMOP_set_evtchn_upcall_vector), edge-triggered. */
  setVcpuUpcallVector(vcpu: number, vector: number): void {
    checkVector(vector)
    if (this.inKernel) this.#vcpu(vcpu).xenVcpuSetAttr({ type: 'UPCALL_VECTOR', vector })
  }

  /**
   * Delivers `port` to `vcpu`. In the kernel: KVM_XEN_HVM_EVTCHN_SEND, which does not say whether
   * the port was new, coalesced or masked, so 1 stands for "handed to the kernel" (and -EINVAL
   * or another negative errno for a refusal). Otherwise the engine's set_pending codes.
   */
  setPending(port: number, vcpu: number): number {
    return this.inKernel ? this.#kernelSend(port, vcpu) : this.engine.setPending(port, vcpu)
  }

  /** HYPERVISOR_event_channel_op for a guest vCPU; keeps the kernel's port assignments in step. */
  hypercall(cmd: RegisterValue, argGpa: RegisterValue, vcpu: number): number {
    const rc = this.engine.hypercall(cmd, argGpa, vcpu)
    if (this.inKernel && cmd !== EVTCHNOP.send && cmd !== BigInt(EVTCHNOP.send)) this.#sync()
    return rc
  }

  /**
   * Connects a backend to guest port `port` (see {@link EvtchnEngine.backendBind}). In the
   * kernel, the guest's sends signal an eventfd ({@link pollBackends} turns them into `onSend`
   * calls) and {@link backendNotifyFd} raises the port with no userspace work.
   */
  backendBind(port: number, onSend: BackendHandler): number {
    const rc = this.engine.backendBind(port, onSend)
    if (rc === 0 && this.inKernel) this.#sync()
    return rc
  }

  /** Disconnects the backend from `port`. */
  backendUnbind(port: number): number {
    const rc = this.engine.backendUnbind(port)
    if (rc === 0 && this.inKernel) this.#sync()
    return rc
  }

  /** Sends from the backend to the guest on `port` (through the kernel when offloaded). */
  backendNotify(port: number): number {
    return this.engine.backendNotify(port)
  }

  /**
   * The eventfd a device writes to raise backend port `port` in the guest through its irqfd
   * route (kernel mode only; null otherwise or if `port` has no backend).
   */
  backendNotifyFd(port: number): EventFd | null {
    return this.#backends.get(port)?.notifyFd ?? null
  }

  /** The eventfd the kernel signals when the guest sends on backend port `port`, or null. */
  backendSendFd(port: number): EventFd | null {
    return this.#backends.get(port)?.sendFd ?? null
  }

  /**
   * Reads every backend's send eventfd and calls its handler once for each that was signalled
   * (sends coalesce, as events do). Returns how many handlers ran. Call it from the VMM's loop.
   */
  pollBackends(): number {
    let n = 0
    for (const [port, b] of this.#backends) {
      try {
        if (b.sendFd.read() === null) continue
      } catch (e) {
        this.#onError(e)
        continue
      }
      this.engine.guestSend(port)
      n++
    }
    return n
  }

  /** Releases the kernel resources (eventfds, routes, port assignments). */
  close(): void {
    if (!this.inKernel) return
    for (const port of [...this.#backends.keys()]) this.#dropBackend(port)
    for (const port of [...this.#ipis.keys()]) this.#dropIpi(port)
    this.engine.useDelivery(null)
  }

  // ---- kernel state ----

  #vcpu(vcpu: number): Vcpu {
    const v = this.#vcpus[vcpu]
    if (v === undefined) throw new EvtchnError('EINVAL', 'KvmEvtchn', `vCPU ${vcpu} does not exist`)
    return v
  }

  #kernelLongMode(on: boolean): void {
    this.#vm.xenHvmSetAttr({ type: 'LONG_MODE', longMode: on })
  }

  #kernelSharedInfo(gpa: number | null): void {
    const gfn = gpa === null ? abi.KVM_XEN_INVALID_GFN : BigInt(gpa / PAGE_SIZE)
    this.#vm.xenHvmSetAttr({ type: 'SHARED_INFO', gfn })
  }

  #kernelVcpuInfo(vcpu: number, gpa: number | null): void {
    this.#vcpu(vcpu).xenVcpuSetAttr({
      type: 'VCPU_INFO',
      gpa: gpa === null ? abi.KVM_XEN_INVALID_GPA : BigInt(gpa),
    })
  }

  // KVM_XEN_HVM_EVTCHN_SEND. Invalid ports and vCPUs are refused here with the engine's code,
  // so the kernel is only asked about deliveries the engine would also attempt.
  #kernelSend(port: number, vcpu: number): number {
    if (!(port > 0 && port < this.engine.geometry.portLimit && (port | 0) === port))
      return -XenErrno.EINVAL
    const v = this.#vcpus[vcpu]
    if (v === undefined || this.engine.sharedInfo === null) return -XenErrno.EINVAL
    this.#sendArg.port = port
    this.#sendArg.vcpu = v.id
    try {
      this.#vm.xenEvtchnSend(this.#sendArg)
      return 1
    } catch (e) {
      const errno = (e as { errno?: number }).errno
      return typeof errno === 'number' ? -Math.abs(errno) : -XenErrno.EINVAL
    }
  }

  // Brings the kernel's IPI assignments and backend routes in line with the port table.
  #sync(): void {
    const ipis = new Map<number, number>()
    const backends = new Map<number, number>()
    for (const p of this.engine.openPorts()) {
      if (p.status === EVTCHNSTAT.ipi) ipis.set(p.port, p.vcpu)
      else if (
        p.status === EVTCHNSTAT.interdomain &&
        p.remoteDom === 0 &&
        this.engine.portInfo(p.port).backend
      )
        backends.set(p.port, p.vcpu)
    }
    for (const port of [...this.#ipis.keys()])
      if (ipis.get(port) !== this.#ipis.get(port)) this.#dropIpi(port)
    for (const [port, vcpu] of ipis) if (!this.#ipis.has(port)) this.#addIpi(port, vcpu)
    for (const [port, b] of [...this.#backends])
      if (!backends.has(port)) this.#dropBackend(port)
      else if (backends.get(port) !== b.vcpu) this.#moveBackend(port, backends.get(port) as number)
    for (const [port, vcpu] of backends) if (!this.#backends.has(port)) this.#addBackend(port, vcpu)
  }

  #addIpi(port: number, vcpu: number): void {
    try {
      this.#vm.xenHvmSetAttr({
        type: 'EVTCHN',
        sendPort: port,
        evtchnType: EVTCHNSTAT.ipi,
        flags: 0,
        deliver: { port, vcpu: this.apicId(vcpu) },
      })
      this.#ipis.set(port, vcpu)
    } catch (e) {
      // The guest's sends on it keep exiting to userspace, where the engine serves them.
      this.#onError(e)
    }
  }

  #dropIpi(port: number): void {
    this.#ipis.delete(port)
    this.#deassign(port)
  }

  #deassign(port: number): void {
    try {
      this.#vm.xenHvmSetAttr({
        type: 'EVTCHN',
        sendPort: port,
        evtchnType: 0,
        flags: abi.KVM_XEN_EVTCHN_DEASSIGN,
        deliver: { port: 0, vcpu: 0 },
      })
    } catch (e) {
      this.#onError(e)
    }
  }

  #addBackend(port: number, vcpu: number): void {
    const routing = this.#routing as RoutingTable
    const sendFd = EventFd.create()
    const notifyFd = EventFd.create()
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
      routing.add({ gsi, type: 'xenEvtchn', port, vcpu: this.apicId(vcpu) })
      routing.commit()
      routing.attachIrqfd(gsi, notifyFd.fd)
      this.#backends.set(port, { sendFd, notifyFd, gsi, vcpu })
    } catch (e) {
      this.#onError(e)
      this.#deassign(port)
      if (gsi >= 0) {
        try {
          routing.remove(gsi)
          routing.releaseGsi(gsi)
          routing.commit()
        } catch (e2) {
          this.#onError(e2)
        }
      }
      sendFd.close()
      notifyFd.close()
    }
  }

  // bind_vcpu moved a backend port: the route must name the new vCPU.
  #moveBackend(port: number, vcpu: number): void {
    const b = this.#backends.get(port) as KernelBackend
    const routing = this.#routing as RoutingTable
    try {
      routing.replace(b.gsi, [{ gsi: b.gsi, type: 'xenEvtchn', port, vcpu: this.apicId(vcpu) }])
      routing.commit()
      b.vcpu = vcpu
    } catch (e) {
      this.#onError(e)
    }
  }

  #dropBackend(port: number): void {
    const b = this.#backends.get(port)
    if (b === undefined) return
    this.#backends.delete(port)
    this.#deassign(port)
    const routing = this.#routing as RoutingTable
    try {
      // Deassign the irqfd before its route goes.
      routing.detachIrqfd(b.gsi, b.notifyFd.fd)
      routing.remove(b.gsi)
      routing.releaseGsi(b.gsi)
      routing.commit()
    } catch (e) {
      this.#onError(e)
    }
    b.sendFd.close()
    b.notifyFd.close()
  }
}

function checkVector(vector: number): void {
  if (!Number.isInteger(vector) || vector < 0 || vector > 0xff || (vector > 0 && vector < 0x10))
    throw new EvtchnError('EINVAL', 'setUpcallVector', 'the vector must be 0 (off) or 0x10-0xff')
}
