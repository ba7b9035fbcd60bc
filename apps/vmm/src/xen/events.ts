// The machine's side of Xen event delivery, in either mode:
//   user:   the engine writes guest memory and `notify` injects the upcall vector with
//           KVM_SIGNAL_MSI (per-vCPU vector, else the callback vector), as QEMU does;
//   kernel: KVM does it. Everything KVM must know about the event channels (shared_info,
//           vcpu_info, vectors, the ports it handles, VIRQ_TIMER) is kept by @tsvmm/xen-evtchn's
//           kernel offload, which reaches the vCPUs through their threads' port (vcpu/threads.ts).
// In both modes KVM keeps each vcpu_info's pvclock (time) up to date (the offload's `pvclock`),
// and the vcpu_time_info areas. In both modes the VM-wide callback vector is KVM's to inject: KVM
// delivers it as a plain vector while vcpu_info's upcall_pending is set (kvm_xen_has_interrupt),
// with no local APIC involved, which is what Linux expects (it sends no EOI for it); a kick makes
// a vCPU look again. With user delivery tsvmm writes shared_info's wall clock and keeps the
// runstate areas; with kernel delivery KVM does both (when it keeps runstates).
import type { GuestMemory } from '@tsvmm/guest-memory'
import { RoutingTable } from '@tsvmm/irq-routing'
import type { Vm } from '@tsvmm/kvm-sys'
import {
  type EvtchnEngine,
  VCPU_INFO_SIZE,
  XEN_LEGACY_MAX_VCPUS,
  XenErrno,
} from '@tsvmm/xen-evtchn'
import { KvmEvtchn } from '@tsvmm/xen-evtchn/kvm'
import type { VcpuOps } from '../vcpu/threads.js'
import { writeWallClock } from './wallclock.js'

/** An active delivery mode. */
export type ActiveDelivery = 'kernel' | 'user'

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
  /**
   * 'kernel': the VM has the full in-kernel irqchip, whose default PIC and IOAPIC routes (the
   * PIT's IRQ 0, the UART's IRQ 4) every KVM_SET_GSI_ROUTING of the offload must carry on.
   */
  irqchip?: 'split' | 'kernel'
}

/** Connects the event channel engine to KVM for one VM. */
export class XenEvents {
  readonly #vm: Vm
  readonly #vcpus: VcpuOps
  readonly #memory: GuestMemory
  readonly #mode: ActiveDelivery
  readonly #xen: boolean
  #engine: EvtchnEngine | undefined
  #offload: KvmEvtchn | undefined
  readonly #upcallVector: number[]
  #callbackVector = 0
  /** Count of upcalls injected from userspace, per vCPU. */
  readonly injected: number[]
  /** Errors KVM returned while delivering (reported once the VM stops). */
  readonly errors: string[] = []

  readonly #options: XenEventsOptions

  /** `xen` false: KVM has no Xen HVM set-up (no attribute may be set). */
  constructor(
    vm: Vm,
    vcpus: VcpuOps,
    memory: GuestMemory,
    mode: ActiveDelivery,
    xen: boolean,
    options: XenEventsOptions = {},
  ) {
    this.#options = options
    this.#vm = vm
    this.#vcpus = vcpus
    this.#memory = memory
    this.#mode = mode
    this.#xen = xen
    this.#upcallVector = new Array<number>(vcpus.count).fill(0)
    this.injected = new Array<number>(vcpus.count).fill(0)
  }

  /** The delivery mode. */
  get mode(): ActiveDelivery {
    return this.#mode
  }

  /** The kernel offload (after {@link attach}). */
  get offload(): KvmEvtchn {
    if (this.#offload === undefined) throw new Error('XenEvents.attach was not called')
    return this.#offload
  }

  /** Connects the engine (made after this object, because its `notify` is {@link notify}). */
  attach(engine: EvtchnEngine): void {
    this.#engine = engine
    this.#offload = new KvmEvtchn({
      engine,
      vm: this.#vm,
      vcpus: this.#vcpus,
      kernel: this.#mode === 'kernel',
      pvclock: this.#xen,
      ...(this.#options.irqchip === 'kernel' && {
        routing: new RoutingTable(
          {
            setGsiRouting: (t) => this.#vm.setGsiRouting(t),
            irqfd: (r) => this.#vm.irqfd({ fd: r.fd, gsi: r.gsi, deassign: r.deassign }),
          },
          { irqchip: 'kernel' },
        ),
      }),
      onError: (e) => this.errors.push(`kernel event channels: ${String(e)}`),
    })
  }

  /** The engine's notify: `vcpu` has a new upcall pending that KVM will not deliver by itself. */
  notify(vcpu: number): void {
    const vector = this.#upcallVector[vcpu] ?? 0
    if (vector !== 0) {
      // An MSI to the vCPU's APIC ID: fixed delivery, edge.
      this.#vm.signalMsi({
        // >>> 0: `|` yields a signed int32 and 0xfee00000 has bit 31 set.
        addressLo: (0xfee00000 | (this.#vcpus.apicId(vcpu) << 12)) >>> 0,
        data: vector,
      })
      this.injected[vcpu] = (this.injected[vcpu] ?? 0) + 1
    } else if (this.#callbackVector !== 0) {
      // KVM injects the VM-wide vector while upcall_pending is set, on the next entry.
      this.#vcpus.kick(vcpu)
    }
  }

  /** XENMEM_add_to_physmap(shared_info): 0 or a negative errno. */
  mapSharedInfo(gpa: number): number {
    const engine = this.#engine
    const offload = this.#offload
    if (engine === undefined || offload === undefined) return -XenErrno.EINVAL
    const old = engine.sharedInfo
    if (old !== null && old !== gpa) {
      // The page moves: Xen's shared_info is one page whose contents go with it.
      this.#memory.write(gpa, this.#memory.read(old, 4096))
    }
    try {
      offload.setSharedInfo(gpa)
      const boot = this.#options.bootWallClockNs
      if (this.#mode === 'user' && boot !== undefined)
        writeWallClock(this.#memory, gpa, boot(), this.#options.longMode ?? true)
    } catch (e) {
      this.errors.push(`shared_info at 0x${gpa.toString(16)}: ${String(e)}`)
      return -XenErrno.EINVAL
    }
    // Xen's default vcpu_info for vCPUs below 32 lives in shared_info until the guest registers one.
    for (let v = 0; v < Math.min(this.#vcpus.count, XEN_LEGACY_MAX_VCPUS); v++) {
      if (engine.vcpuInfoRegistered(v)) continue
      const at = gpa + VCPU_INFO_SIZE * v
      try {
        offload.setVcpuInfo(v, at)
      } catch (e) {
        this.errors.push(`vcpu_info of vCPU ${v} at 0x${at.toString(16)}: ${String(e)}`)
      }
    }
    return 0
  }

  /** HVMOP_set_evtchn_upcall_vector. */
  setUpcallVector(vcpu: number, vector: number): void {
    this.#upcallVector[vcpu] = vector
    try {
      this.offload.setVcpuUpcallVector(vcpu, vector)
    } catch (e) {
      this.errors.push(`upcall vector of vCPU ${vcpu}: ${String(e)}`)
    }
    this.#raiseIfPending(vcpu)
  }

  /** HVM_PARAM_CALLBACK_IRQ (vector type), 0 to turn it off. */
  setCallbackVector(vector: number): void {
    this.#callbackVector = vector
    try {
      // The offload gives KVM the VM-wide vector in both modes (see top).
      this.offload.setUpcallVector(vector)
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
    if (this.#xen) this.#vcpus.setAttr(vcpu, { type: 'VCPU_TIME_INFO', gpa: BigInt(gpa) })
    return 0
  }

  /** Takes the ports back from the kernel and closes the backends' eventfds. */
  dispose(): void {
    this.#offload?.close()
  }
}
