// The machine's side of Xen event delivery, in either mode:
//   user:   the engine writes guest memory and `notify` injects the upcall vector with
//           KVM_SIGNAL_MSI (per-vCPU vector, else the callback vector), as QEMU does;
//   kernel: KVM does it: deliveries go through KVM_XEN_HVM_EVTCHN_SEND, shared_info, vcpu_info and
//           the vectors are KVM attributes, and guest sends and timers run in the kernel
//           (kernel-ports.ts). The engine keeps the port table and serves the hypercalls KVM passes up.
// In both modes KVM keeps each vcpu_info's pvclock (time) up to date: the VMM always gives KVM
// the vcpu_info addresses, and never the VM-wide vector unless delivery is in the kernel.
import type { GuestMemory } from '@tsvmm/guest-memory'
import { abi, type Vm } from '@tsvmm/kvm-sys'
import type { EvtchnEngine } from '@tsvmm/xen-evtchn'
import type { VcpuOps } from '../vcpu/threads.js'
import { KernelPorts } from './kernel-ports.js'

/** An active delivery mode. */
export type ActiveDelivery = 'kernel' | 'user'

const XEN_LEGACY_MAX_VCPUS = 32
const VCPU_INFO_SIZE = 64

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

  constructor(vm: Vm, vcpus: VcpuOps, memory: GuestMemory, mode: ActiveDelivery, domid: number) {
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
    const vector = this.#upcallVector[vcpu] || (this.#mode === 'user' ? this.#callbackVector : 0)
    if (vector !== 0) {
      // An MSI to the vCPU's APIC ID (= its index): fixed delivery, edge.
      this.#vm.signalMsi({ addressLo: 0xfee00000 | (vcpu << 12), data: vector })
      this.injected[vcpu] = (this.injected[vcpu] ?? 0) + 1
    } else if (this.#mode === 'kernel' && this.#callbackVector !== 0) {
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
    if (this.#mode === 'kernel') {
      try {
        this.#vm.xenHvmSetAttr({ type: 'UPCALL_VECTOR', vector })
      } catch (e) {
        this.errors.push(`callback vector: ${String(e)}`)
      }
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
