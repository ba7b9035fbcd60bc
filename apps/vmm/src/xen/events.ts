// The machine's side of Xen event delivery, in either mode:
//   user:   the engine writes guest memory and `notify` injects the upcall vector with
//           KVM_SIGNAL_MSI (per-vCPU vector, else the callback vector), as QEMU does;
//   kernel: KVM does it: deliveries go through KVM_XEN_HVM_EVTCHN_SEND, shared_info, vcpu_info and
//           the vectors are KVM attributes, and guest sends and timers run in the kernel
//           (kernel-ports.ts). The engine keeps the port table and serves the hypercalls KVM passes up.
// In both modes KVM keeps each vcpu_info's pvclock (time) up to date: the VMM always gives KVM
// the vcpu_info and vcpu_time_info addresses, and the VM-wide callback vector: KVM injects that
// one as a plain vector while vcpu_info's upcall_pending is set (kvm_xen_has_interrupt), with no
// local APIC involved, which is what Linux expects (it sends no EOI for it). A kick makes a vCPU
// look at it again. The runstate area is KVM's with kernel delivery when KVM keeps runstates.
import type { GuestMemory } from '@tsvmm/guest-memory'
import { abi, type Vm } from '@tsvmm/kvm-sys'
import type { EvtchnEngine } from '@tsvmm/xen-evtchn'
import type { VcpuOps } from '../vcpu/threads.js'
import { KernelPorts } from './kernel-ports.js'
import { writeWallClock } from './wallclock.js'

/** An active delivery mode. */
export type ActiveDelivery = 'kernel' | 'user'

const XEN_LEGACY_MAX_VCPUS = 32
const VCPU_INFO_SIZE = 64
/** struct vcpu_runstate_info: state, state_entry_time, time[4]. */
const RUNSTATE_INFO_SIZE = 48

/** Optional knobs of {@link XenEvents}. */
export interface XenEventsOptions {
  /** KVM keeps runstate areas (KVM_XEN_HVM_CONFIG_RUNSTATE). */
  kvmRunstate?: boolean
  /** Real time in ns at Xen system time 0, for shared_info's wall clock with user delivery. */
  bootWallClockNs?: () => bigint
  /** Whether the guest is 64-bit (the shared_info layout). Default true. */
  longMode?: boolean
}

/** Connects the event channel engine to KVM for one VM. */
export class XenEvents {
  readonly #vm: Vm
  readonly #vcpus: VcpuOps
  readonly #memory: GuestMemory
  readonly #mode: ActiveDelivery
  #engine: EvtchnEngine | undefined
  readonly #upcallVector: number[]
  #callbackVector = 0
  readonly #registered: boolean[]
  readonly #kernelPorts: KernelPorts | undefined
  /** Count of upcalls injected from userspace, per vCPU. */
  readonly injected: number[]
  /** Errors KVM returned while delivering (reported once the VM stops). */
  readonly errors: string[] = []

  readonly #options: XenEventsOptions

  constructor(
    vm: Vm,
    vcpus: VcpuOps,
    memory: GuestMemory,
    mode: ActiveDelivery,
    domid: number,
    options: XenEventsOptions = {},
  ) {
    this.#options = options
    this.#vm = vm
    this.#vcpus = vcpus
    this.#memory = memory
    this.#mode = mode
    this.#upcallVector = new Array<number>(vcpus.count).fill(0)
    this.#registered = new Array<boolean>(vcpus.count).fill(false)
    this.injected = new Array<number>(vcpus.count).fill(0)
    if (mode === 'kernel')
      this.#kernelPorts = new KernelPorts(
        {
          assign: (s) =>
            vm.xenHvmSetAttr({
              type: 'EVTCHN',
              sendPort: s.sendPort,
              evtchnType: s.evtchnType,
              flags: 0,
              deliver: { port: s.port, vcpu: s.vcpu },
            }),
          deassign: (sendPort) =>
            vm.xenHvmSetAttr({
              type: 'EVTCHN',
              sendPort,
              evtchnType: 0,
              flags: abi.KVM_XEN_EVTCHN_DEASSIGN,
              deliver: { port: 0, vcpu: 0 },
            }),
          setTimerPort: (vcpu, port) =>
            vcpus.setAttr(vcpu, {
              type: 'TIMER',
              port,
              priority: abi.KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
              expiresNs: 0n,
            }),
        },
        vcpus.count,
        domid,
      )
  }

  /** The delivery mode. */
  get mode(): ActiveDelivery {
    return this.#mode
  }

  /** Connects the engine (made after this object, because its `notify` is {@link notify}). */
  attach(engine: EvtchnEngine): void {
    this.#engine = engine
    if (this.#mode === 'kernel')
      engine.useDelivery((port, vcpu) => {
        try {
          this.#vm.xenEvtchnSend({ port, vcpu })
          return 1
        } catch (e) {
          this.errors.push(`KVM_XEN_HVM_EVTCHN_SEND port ${port} vCPU ${vcpu}: ${String(e)}`)
          return -22
        }
      })
  }

  /** The engine's notify: `vcpu` has a new upcall pending that KVM will not deliver by itself. */
  notify(vcpu: number): void {
    const vector = this.#upcallVector[vcpu] ?? 0
    if (vector !== 0) {
      // An MSI to the vCPU's APIC ID (= its index): fixed delivery, edge.
      this.#vm.signalMsi({ addressLo: 0xfee00000 | (vcpu << 12), data: vector })
      this.injected[vcpu] = (this.injected[vcpu] ?? 0) + 1
    } else if (this.#callbackVector !== 0) {
      // KVM injects the VM-wide vector while upcall_pending is set, on the next entry.
      this.#vcpus.kick(vcpu)
    }
  }

  /** XENMEM_add_to_physmap(shared_info): 0 or a negative errno. */
  mapSharedInfo(gpa: number): number {
    const engine = this.#engine
    if (engine === undefined) return -22
    const old = engine.sharedInfo
    if (old !== null && old !== gpa) {
      // The page moves: Xen's shared_info is one page whose contents go with it.
      this.#memory.write(gpa, this.#memory.read(old, 4096))
    }
    try {
      if (this.#mode === 'kernel')
        this.#vm.xenHvmSetAttr({ type: 'SHARED_INFO', gfn: BigInt(gpa >>> 12) })
      engine.setSharedInfo(gpa)
      const boot = this.#options.bootWallClockNs
      if (this.#mode === 'user' && boot !== undefined)
        writeWallClock(this.#memory, gpa, boot(), this.#options.longMode ?? true)
    } catch (e) {
      this.errors.push(`shared_info at 0x${gpa.toString(16)}: ${String(e)}`)
      return -22
    }
    // Xen's default vcpu_info for vCPUs below 32 lives in shared_info until the guest registers one.
    for (let v = 0; v < Math.min(this.#vcpus.count, XEN_LEGACY_MAX_VCPUS); v++) {
      if (!this.#registered[v]) this.#setVcpuInfo(v, gpa + VCPU_INFO_SIZE * v, true)
    }
    return 0
  }

  /** VCPUOP_register_vcpu_info succeeded in the engine: tell KVM too. */
  vcpuInfoMoved(vcpu: number, gpa: number): void {
    this.#registered[vcpu] = true
    this.#setVcpuInfo(vcpu, gpa, false)
  }

  #setVcpuInfo(vcpu: number, gpa: number, alsoEngine: boolean): void {
    try {
      if (alsoEngine) this.#engine?.setVcpuInfo(vcpu, gpa)
      this.#vcpus.setAttr(vcpu, { type: 'VCPU_INFO', gpa: BigInt(gpa) })
    } catch (e) {
      this.errors.push(`vcpu_info of vCPU ${vcpu} at 0x${gpa.toString(16)}: ${String(e)}`)
    }
  }

  /** HVMOP_set_evtchn_upcall_vector. */
  setUpcallVector(vcpu: number, vector: number): void {
    this.#upcallVector[vcpu] = vector
    if (this.#mode === 'kernel') {
      try {
        this.#vcpus.setAttr(vcpu, { type: 'UPCALL_VECTOR', vector })
      } catch (e) {
        this.errors.push(`upcall vector of vCPU ${vcpu}: ${String(e)}`)
      }
    }
    this.#raiseIfPending(vcpu)
  }

  /** HVM_PARAM_CALLBACK_IRQ (vector type), 0 to turn it off. */
  setCallbackVector(vector: number): void {
    this.#callbackVector = vector
    try {
      this.#vm.xenHvmSetAttr({ type: 'UPCALL_VECTOR', vector })
    } catch (e) {
      this.errors.push(`callback vector: ${String(e)}`)
    }
    for (let v = 0; v < this.#vcpus.count; v++) this.#raiseIfPending(v)
  }

  // An upcall that became pending before there was a vector to deliver it is delivered now.
  #raiseIfPending(vcpu: number): void {
    const at = this.#engine?.vcpuInfo(vcpu)
    if (
      at !== null &&
      at !== undefined &&
      this.#memory.contains(at, 1) &&
      this.#memory.readU8(at) !== 0
    )
      this.notify(vcpu)
  }

  /** VCPUOP_register_runstate_memory_area at `gpa` (checked inside RAM): 0 or a negative errno. */
  setRunstateArea(vcpu: number, gpa: number): number {
    if (this.#mode === 'kernel' && this.#options.kvmRunstate === true) {
      this.#vcpus.setAttr(vcpu, { type: 'RUNSTATE_ADDR', gpa: BigInt(gpa) })
      return 0
    }
    // Kept here: "running" since boot with no time accounted, so Linux's steal clock reads 0.
    this.#memory.fill(gpa, RUNSTATE_INFO_SIZE, 0)
    return 0
  }

  /** VCPUOP_register_vcpu_time_memory_area at `gpa`: KVM keeps the second pvclock there. */
  setVcpuTimeArea(vcpu: number, gpa: number): number {
    this.#vcpus.setAttr(vcpu, { type: 'VCPU_TIME_INFO', gpa: BigInt(gpa) })
    return 0
  }

  /** The guest changed its ports (an EVTCHNOP that binds, closes or moves): update KVM. */
  portsChanged(): void {
    if (this.#kernelPorts === undefined || this.#engine === undefined) return
    try {
      this.#kernelPorts.sync(this.#engine.openPorts())
    } catch (e) {
      this.errors.push(`kernel port offload: ${String(e)}`)
    }
  }

  /** Ports whose guest sends the kernel handles (kernel mode). */
  get kernelSendPorts(): number {
    return this.#kernelPorts?.assigned.size ?? 0
  }
}
