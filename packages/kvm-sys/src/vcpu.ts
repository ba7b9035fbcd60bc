// Vcpu: a vCPU fd. KVM_RUN and its kvm_run area, the kick, register state, Xen vCPU attributes.
import { markAsUntransferable } from 'node:worker_threads'
import * as abi from './abi.js'
import { array, bytes, uint } from './args.js'
import { type CapabilityNeed, capNeed, withCapability } from './capability-hint.js'
import { KvmRun } from './kvm-run.js'
import { loadNative, type NativeVcpu, op } from './native.js'
import type { CpuidEntry, Fpu, MsrEntry, Regs, Sregs } from './x86.js'
import {
  decodeFpu,
  decodeMsrs,
  decodeRegs,
  decodeSregs,
  encodeCpuid,
  encodeFpu,
  encodeMsrs,
  encodeRegs,
  encodeSregs,
} from './x86-codec.js'
import { XEN_VCPU_ATTR_TYPES, type XenVcpuAttr, type XenVcpuAttrType } from './xen.js'
import { decodeXenVcpuAttr, emptyXenVcpuAttr, encodeXenVcpuAttr } from './xen-codec.js'

/**
 * A virtual CPU. Create it with `vm.createVcpu(id)`; in a worker thread attach to it with
 * `Vcpu.fromHandle(vcpu.handle)`.
 *
 * Threading: `run()` is synchronous and blocks its thread inside KVM_RUN until the next exit,
 * so run each vCPU on its own worker thread. Any thread may `kick()` it: kvm-sys sets
 * kvm_run.immediate_exit and sends the running thread a signal (SIGRTMIN, a no-op handler
 * without SA_RESTART), and `run()` returns KVM_EXIT_INTR. One thread runs a vCPU at a time.
 */
export class Vcpu {
  readonly #native: NativeVcpu
  /** The kvm_run area of this vCPU, mapped into this thread (no copy). */
  readonly kvmRun: KvmRun

  private constructor(native: NativeVcpu) {
    this.#native = native
    const buffer = native.runBuffer()
    markAsUntransferable(buffer)
    this.kvmRun = new KvmRun(buffer)
  }

  /** @internal Wraps the addon's vCPU object (Vm.createVcpu uses it). */
  static wrap(native: NativeVcpu): Vcpu {
    return new Vcpu(native)
  }

  /** Attaches to an open vCPU by its handle, e.g. in the worker thread that runs it. */
  static fromHandle(handle: number): Vcpu {
    return new Vcpu(loadNative().attachVcpu(uint('attachVcpu', 'handle', handle)))
  }

  /** The vCPU id given to KVM_CREATE_VCPU (the APIC ID). */
  get id(): number {
    return this.#native.id
  }

  /** A process-wide number for Vcpu.fromHandle in another thread. */
  get handle(): number {
    return this.#native.handle
  }

  /** The handle of the VM this vCPU belongs to (for Vm.fromHandle). */
  get vmHandle(): number {
    return this.#native.vmHandle
  }

  /** True once the vCPU (or its VM) was closed, from any thread. */
  get closed(): boolean {
    return this.#native.closed
  }

  #ioctl(name: string, arg?: number | bigint | Uint8Array): number {
    return this.#native.ioctl(op(name, 'vcpu'), arg)
  }

  #need<T>(need: CapabilityNeed, fn: () => T): T {
    // The VM answers KVM_CHECK_EXTENSION for its vCPUs; attach to it only after a failure.
    return withCapability(
      need,
      (cap) => {
        const vm = loadNative().attachVm(this.vmHandle)
        return vm.ioctl(op('KVM_CHECK_EXTENSION', 'vm'), cap)
      },
      fn,
    )
  }

  /**
   * KVM_RUN: runs the guest on the calling thread until the next exit and returns its reason
   * (KVM_EXIT_*; KVM_EXIT_INTR when kicked). Read the exit's details from `kvmRun`.
   */
  run(): number {
    return this.#native.run()
  }

  /** Makes a running (or the next) KVM_RUN return KVM_EXIT_INTR. Callable from any thread. */
  kick(): void {
    this.#native.kick()
  }

  /** KVM_GET_REGS. */
  getRegs(): Regs {
    const b = new Uint8Array(abi.kvm_regs.size)
    this.#ioctl('KVM_GET_REGS', b)
    return decodeRegs(b)
  }

  /** KVM_SET_REGS. */
  setRegs(regs: Regs): void {
    this.#ioctl('KVM_SET_REGS', encodeRegs(regs))
  }

  /** KVM_GET_SREGS. */
  getSregs(): Sregs {
    const b = new Uint8Array(abi.kvm_sregs.size)
    this.#ioctl('KVM_GET_SREGS', b)
    return decodeSregs(b)
  }

  /** KVM_SET_SREGS. */
  setSregs(sregs: Sregs): void {
    this.#ioctl('KVM_SET_SREGS', encodeSregs(sregs))
  }

  /** KVM_GET_FPU. KVM does not report MXCSR through this ioctl (it reads as 0). */
  getFpu(): Fpu {
    const b = new Uint8Array(abi.kvm_fpu.size)
    this.#ioctl('KVM_GET_FPU', b)
    return decodeFpu(b)
  }

  /** KVM_SET_FPU. KVM ignores `mxcsr` here. */
  setFpu(fpu: Fpu): void {
    this.#ioctl('KVM_SET_FPU', encodeFpu(fpu))
  }

  /** KVM_SET_CPUID2: the CPUID leaves the guest sees (before the first run). */
  setCpuid2(entries: readonly CpuidEntry[]): void {
    // A number would select encodeCpuid's KVM_GET_SUPPORTED_CPUID form: only a table is a table.
    this.#ioctl(
      'KVM_SET_CPUID2',
      encodeCpuid(array<CpuidEntry>('KVM_SET_CPUID2', 'entries', entries, 4096)),
    )
  }

  /** KVM_GET_MSRS: reads the MSRs; stops at the first one KVM refuses (fewer entries back). */
  getMsrs(indices: readonly number[]): MsrEntry[] {
    const list = array<number>('KVM_GET_MSRS', 'indices', indices)
    const b = encodeMsrs(
      list.map((index, i) => ({ index: uint('KVM_GET_MSRS', `indices[${i}]`, index), data: 0n })),
    )
    const n = this.#ioctl('KVM_GET_MSRS', b)
    return decodeMsrs(b, n)
  }

  /** KVM_SET_MSRS: writes the MSRs; returns how many KVM took (it stops at the first refusal). */
  setMsrs(entries: readonly MsrEntry[]): number {
    return this.#ioctl('KVM_SET_MSRS', encodeMsrs(entries))
  }

  /** KVM_GET_LAPIC: the local APIC register page (1024 bytes; registers at their MMIO offsets). */
  getLapic(): Uint8Array {
    const b = new Uint8Array(abi.kvm_lapic_state.size)
    this.#need(capNeed('IRQCHIP'), () => this.#ioctl('KVM_GET_LAPIC', b))
    return b
  }

  /** KVM_SET_LAPIC: `regs` is the 1024-byte register page, over any buffer (shared too). */
  setLapic(regs: Uint8Array): void {
    bytes('KVM_SET_LAPIC', 'regs', regs, abi.kvm_lapic_state.size)
    this.#need(capNeed('IRQCHIP'), () => this.#ioctl('KVM_SET_LAPIC', regs))
  }

  /** KVM_INTERRUPT: queues an external interrupt vector (userspace irqchip only). */
  interrupt(vector: number): void {
    const b = new Uint8Array(abi.kvm_interrupt.size)
    const irq = uint('KVM_INTERRUPT', 'vector', vector, 8)
    new DataView(b.buffer).setUint32(abi.kvm_interrupt.irq, irq, true)
    this.#ioctl('KVM_INTERRUPT', b)
  }

  /** KVM_NMI: queues an NMI. */
  nmi(): void {
    this.#need(capNeed('USER_NMI'), () => this.#ioctl('KVM_NMI'))
  }

  /** KVM_GET_MP_STATE (KVM_MP_STATE_*). */
  getMpState(): number {
    const b = new Uint8Array(abi.kvm_mp_state.size)
    this.#need(capNeed('MP_STATE'), () => this.#ioctl('KVM_GET_MP_STATE', b))
    return new DataView(b.buffer).getUint32(abi.kvm_mp_state.mp_state, true)
  }

  /** KVM_SET_MP_STATE (e.g. KVM_MP_STATE_RUNNABLE to start an AP without INIT/SIPI). */
  setMpState(state: number): void {
    const b = new Uint8Array(abi.kvm_mp_state.size)
    const mp = uint('KVM_SET_MP_STATE', 'state', state)
    new DataView(b.buffer).setUint32(abi.kvm_mp_state.mp_state, mp, true)
    this.#need(capNeed('MP_STATE'), () => this.#ioctl('KVM_SET_MP_STATE', b))
  }

  /** KVM_GET_VCPU_EVENTS: pending exception / interrupt / NMI state (layout: abi.kvm_vcpu_events). */
  getVcpuEvents(): Uint8Array {
    const b = new Uint8Array(abi.kvm_vcpu_events.size)
    this.#need(capNeed('VCPU_EVENTS'), () => this.#ioctl('KVM_GET_VCPU_EVENTS', b))
    return b
  }

  /** KVM_SET_VCPU_EVENTS: `events` as getVcpuEvents returned it, over any buffer (shared too). */
  setVcpuEvents(events: Uint8Array): void {
    bytes('KVM_SET_VCPU_EVENTS', 'events', events, abi.kvm_vcpu_events.size)
    this.#need(capNeed('VCPU_EVENTS'), () => this.#ioctl('KVM_SET_VCPU_EVENTS', events))
  }

  /** KVM_SET_TSC_KHZ on this vCPU. */
  setTscKhz(khz: number): void {
    const k = uint('KVM_SET_TSC_KHZ', 'khz', khz)
    this.#need(capNeed('TSC_CONTROL'), () => this.#ioctl('KVM_SET_TSC_KHZ', k))
  }

  /** KVM_GET_TSC_KHZ: this vCPU's TSC frequency. */
  getTscKhz(): number {
    return this.#need(capNeed('GET_TSC_KHZ'), () => this.#ioctl('KVM_GET_TSC_KHZ'))
  }

  /** KVM_XEN_VCPU_SET_ATTR for any vCPU attribute type. */
  xenVcpuSetAttr(attr: XenVcpuAttr): void {
    const b = encodeXenVcpuAttr(attr)
    const need = capNeed('XEN_HVM', XEN_VCPU_ATTR_TYPES[attr.type].feature)
    this.#need(need, () => this.#ioctl('KVM_XEN_VCPU_SET_ATTR', b))
  }

  /** KVM_XEN_VCPU_GET_ATTR for any vCPU attribute type. */
  xenVcpuGetAttr<T extends XenVcpuAttrType>(
    type: T,
  ): Extract<
    XenVcpuAttr,
    {
      /** The attribute type asked for. */
      type: T
    }
  > {
    const b = emptyXenVcpuAttr(type)
    const need = capNeed('XEN_HVM', XEN_VCPU_ATTR_TYPES[type].feature)
    this.#need(need, () => this.#ioctl('KVM_XEN_VCPU_GET_ATTR', b))
    return decodeXenVcpuAttr(type, b) as Extract<XenVcpuAttr, { type: T }>
  }

  /**
   * Closes the vCPU for every thread (a running KVM_RUN is kicked and waited for) and detaches
   * this thread's kvm_run buffer. Idempotent.
   */
  close(): void {
    this.#native.close()
  }
}
