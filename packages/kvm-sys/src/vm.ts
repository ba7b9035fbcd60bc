// Vm: a VM fd. Guest memory regions, vCPUs, interrupt plumbing and the Xen HVM ioctls. The
// argument structs and their checks are in vm-structs.ts.
import { markAsUntransferable } from 'node:worker_threads'
import * as abi from './abi.js'
import { bytes, invalid, oneOf, safeUint, u64Big, uint } from './args.js'
import { type CapabilityNeed, capNeed, withCapability } from './capability-hint.js'
import { loadNative, type NativeVm, op } from './native.js'
import { Vcpu } from './vcpu.js'
import {
  bytesOf,
  type ClockData,
  decodeClock,
  encodeEnableCap,
  encodeIoeventfd,
  encodeIrqfd,
  encodeIrqLevel,
  encodeMsi,
  encodeXenEvtchnSend,
  encodeXenHvmConfig,
  type IoeventfdOptions,
  type IrqfdOptions,
  type MemoryRegion,
  type MemoryRegionOptions,
  type Msi,
  memoryRegionArgs,
  type XenEvtchnSend,
  type XenHvmConfig,
} from './vm-structs.js'
import { XEN_HVM_ATTR_TYPES, type XenHvmAttr, type XenHvmAttrType } from './xen.js'
import { decodeXenHvmAttr, emptyXenHvmAttr, encodeXenHvmAttr } from './xen-codec.js'

/**
 * A virtual machine. Create it with `kvm.createVm()`; in a worker thread attach to it with
 * `Vm.fromHandle(vm.handle)`. `close()` closes the VM for every thread: its vCPUs are kicked
 * and closed, its memory slots deleted, and this thread's buffers detached.
 *
 * Every method checks its arguments first: a bad one is a KvmError 'EINVAL' naming the ioctl.
 */
export class Vm {
  readonly #native: NativeVm
  readonly #regions = new Map<number, MemoryRegion>()
  readonly #vcpus = new Set<Vcpu>()

  private constructor(native: NativeVm) {
    this.#native = native
  }

  /** @internal Wraps the addon's VM object (Kvm.createVm uses it). */
  static wrap(native: NativeVm): Vm {
    return new Vm(native)
  }

  /** Attaches to an open VM by its handle, e.g. in a worker thread. */
  static fromHandle(handle: number): Vm {
    return new Vm(loadNative().attachVm(uint('attachVm', 'handle', handle)))
  }

  /** A process-wide number for Vm.fromHandle in another thread. */
  get handle(): number {
    return this.#native.handle
  }

  /** True once the VM was closed (from any thread). */
  get closed(): boolean {
    return this.#native.closed
  }

  #ioctl(name: string, arg?: number | bigint | Uint8Array): number {
    return this.#native.ioctl(op(name, 'vm'), arg)
  }

  #need<T>(need: CapabilityNeed, fn: () => T): T {
    return withCapability(need, (cap) => this.checkExtension(cap), fn)
  }

  /** KVM_CHECK_EXTENSION on the VM fd (answers for this VM, e.g. KVM_CAP_XEN_HVM flags). */
  checkExtension(cap: abi.Cap | number): number {
    return this.#ioctl('KVM_CHECK_EXTENSION', uint('KVM_CHECK_EXTENSION', 'cap', cap))
  }

  // --- memory

  /**
   * KVM_SET_USER_MEMORY_REGION over fresh anonymous memory the addon maps (page-aligned, not
   * copied: `buffer` is the guest's RAM).
   */
  addMemoryRegion(options: MemoryRegionOptions): MemoryRegion {
    const { slot, guestPhysAddr, size, flags } = memoryRegionArgs(options)
    this.#native.addMemoryRegion(slot, BigInt(guestPhysAddr), size, flags)
    let region: MemoryRegion | undefined
    try {
      region = this.#regionView(slot)
    } catch (e) {
      // No buffer over it (Node refused one that large): a region nobody can use goes again.
      this.#native.removeMemoryRegion(slot)
      throw e
    }
    if (region === undefined)
      throw invalid('KVM_SET_USER_MEMORY_REGION', 'slot', slot, 'a slot no other thread removes')
    return region
  }

  /**
   * KVM_SET_USER_MEMORY_REGION with size 0: the kernel lets go of the slot, then this thread's
   * buffers over it are detached, then the memory is unmapped (once no thread holds a view).
   */
  removeMemoryRegion(slot: number): void {
    this.#native.removeMemoryRegion(uint('KVM_SET_USER_MEMORY_REGION', 'slot', slot))
    this.#regions.delete(slot)
  }

  /** The regions of this VM, with buffers for this thread. */
  memoryRegions(): MemoryRegion[] {
    const out: MemoryRegion[] = []
    for (const r of this.#native.regions()) {
      const region = this.#regionView(r.slot)
      if (region !== undefined) out.push(region)
    }
    return out
  }

  #regionView(slot: number): MemoryRegion | undefined {
    const info = this.#native.regions().find((r) => r.slot === slot)
    if (info === undefined) {
      this.#regions.delete(slot)
      return undefined
    }
    const cached = this.#regions.get(slot)
    if (cached && cached.hostAddress === info.hostAddress && cached.buffer.byteLength === info.size)
      return cached
    const buffer = this.#native.regionBuffer(slot)
    // A transferred buffer would outlive our bookkeeping: keep it in this thread.
    markAsUntransferable(buffer)
    // The addon keeps 64-bit addresses; a GPA is below 2^52, so a number holds it exactly.
    const region: MemoryRegion = { ...info, guestPhysAddr: Number(info.guestPhysAddr), buffer }
    this.#regions.set(slot, region)
    return region
  }

  // --- vCPUs

  /** KVM_CREATE_VCPU, and mmap of its kvm_run area. */
  createVcpu(id: number): Vcpu {
    const vcpu = Vcpu.wrap(this.#native.createVcpu(uint('KVM_CREATE_VCPU', 'id', id)))
    this.#vcpus.add(vcpu)
    return vcpu
  }

  // --- interrupt controllers and routing

  /** KVM_CREATE_IRQCHIP: in-kernel PIC, IOAPIC and local APICs (before creating vCPUs). */
  createIrqchip(): void {
    this.#need(capNeed('IRQCHIP'), () => this.#ioctl('KVM_CREATE_IRQCHIP'))
  }

  /** KVM_CREATE_PIT2: the in-kernel i8254 (flags: KVM_PIT_SPEAKER_DUMMY). */
  createPit2(flags = 0): void {
    const f = uint('KVM_CREATE_PIT2', 'flags', flags)
    const b = bytesOf(abi.kvm_pit_config, (v) => v.setUint32(abi.kvm_pit_config.flags, f, true))
    this.#need(capNeed('PIT2'), () => this.#ioctl('KVM_CREATE_PIT2', b))
  }

  /** KVM_ENABLE_CAP on the VM, with up to four u64 arguments. */
  enableCap(cap: abi.Cap | number, args: readonly (number | bigint)[] = [], flags = 0): void {
    const b = encodeEnableCap(cap, args, flags)
    this.#need({ cap, name: `capability ${cap}` }, () => this.#ioctl('KVM_ENABLE_CAP', b))
  }

  /** KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): in-kernel local APICs, IOAPIC in userspace. */
  enableSplitIrqchip(ioapicPins = 24): void {
    this.#need(capNeed('SPLIT_IRQCHIP'), () => this.enableCap(abi.Cap.SPLIT_IRQCHIP, [ioapicPins]))
  }

  /**
   * KVM_SET_GSI_ROUTING with an encoded struct kvm_irq_routing (header + entries), over any
   * buffer (the addon copies it, shared or not). The kernel checks every entry; on 'EINVAL' the
   * previous table stays in force.
   */
  setGsiRouting(table: Uint8Array): void {
    const b = bytes('KVM_SET_GSI_ROUTING', 'table', table)
    this.#need(capNeed('IRQ_ROUTING'), () => this.#ioctl('KVM_SET_GSI_ROUTING', b))
  }

  /**
   * KVM_IRQ_LINE_STATUS: sets a GSI's level (edge-triggered inputs want 1 then 0). Returns the
   * delivery status (> 0 delivered, 0 coalesced or masked, < 0 not delivered).
   */
  irqLine(irq: number, level: boolean | number): number {
    const b = encodeIrqLevel(irq, level)
    this.#need(capNeed('IRQ_INJECT_STATUS'), () => this.#ioctl('KVM_IRQ_LINE_STATUS', b))
    return new DataView(b.buffer).getInt32(abi.kvm_irq_level.status, true)
  }

  /** KVM_SIGNAL_MSI: injects one MSI. Returns > 0 if delivered, 0 if the guest blocked it. */
  signalMsi(msi: Msi): number {
    const b = encodeMsi(msi)
    return this.#need(capNeed('SIGNAL_MSI'), () => this.#ioctl('KVM_SIGNAL_MSI', b))
  }

  /** KVM_IRQFD: assign (or deassign) an eventfd that raises a GSI, optionally with resample. */
  irqfd(options: IrqfdOptions): void {
    const b = encodeIrqfd(options)
    const flags = new DataView(b.buffer).getUint32(abi.kvm_irqfd.flags, true)
    const resample = (flags & abi.KVM_IRQFD_FLAG_RESAMPLE) !== 0
    this.#need(capNeed(resample ? 'IRQFD_RESAMPLE' : 'IRQFD'), () => this.#ioctl('KVM_IRQFD', b))
  }

  /** KVM_IOEVENTFD: signal an eventfd on a guest write to a port or MMIO address. */
  ioeventfd(options: IoeventfdOptions): void {
    const b = encodeIoeventfd(options)
    this.#need(capNeed('IOEVENTFD'), () => this.#ioctl('KVM_IOEVENTFD', b))
  }

  // --- x86 VM setup

  /** KVM_SET_TSS_ADDR: three pages of guest physical space KVM needs on Intel (below 4 GiB). */
  setTssAddr(addr: number): void {
    const a = uint('KVM_SET_TSS_ADDR', 'addr', addr)
    this.#need(capNeed('SET_TSS_ADDR'), () => this.#ioctl('KVM_SET_TSS_ADDR', a))
  }

  /** KVM_SET_IDENTITY_MAP_ADDR: one page for the EPT identity map on Intel (below 4 GiB). */
  setIdentityMapAddr(addr: number): void {
    const a = safeUint('KVM_SET_IDENTITY_MAP_ADDR', 'addr', addr)
    const b = bytesOf({ size: 8 }, (v) => v.setBigUint64(0, BigInt(a), true))
    this.#need(capNeed('SET_IDENTITY_MAP_ADDR'), () => this.#ioctl('KVM_SET_IDENTITY_MAP_ADDR', b))
  }

  /** KVM_SET_TSC_KHZ on the VM: the default TSC frequency of vCPUs created after it. */
  setTscKhz(khz: number): void {
    const k = uint('KVM_SET_TSC_KHZ', 'khz', khz)
    this.#need(capNeed('VM_TSC_CONTROL'), () => this.#ioctl('KVM_SET_TSC_KHZ', k))
  }

  /** KVM_GET_CLOCK: the kvmclock base of the VM. */
  getClock(): ClockData {
    const b = new Uint8Array(abi.kvm_clock_data.size)
    this.#need(capNeed('ADJUST_CLOCK'), () => this.#ioctl('KVM_GET_CLOCK', b))
    return decodeClock(b)
  }

  /** KVM_SET_CLOCK: sets the kvmclock base (ns, a raw u64). */
  setClock(clock: bigint): void {
    const c = u64Big('KVM_SET_CLOCK', 'clock', clock)
    const b = bytesOf(abi.kvm_clock_data, (v) => v.setBigUint64(abi.kvm_clock_data.clock, c, true))
    this.#need(capNeed('ADJUST_CLOCK'), () => this.#ioctl('KVM_SET_CLOCK', b))
  }

  // --- Xen HVM

  /** KVM_XEN_HVM_CONFIG: turns on Xen HVM support (flags) and the hypercall-page MSR. */
  xenHvmConfig(config: XenHvmConfig): void {
    const b = encodeXenHvmConfig(config)
    const flags = new DataView(b.buffer).getUint32(abi.kvm_xen_hvm_config.flags, true)
    this.#need(capNeed('XEN_HVM', flags), () => this.#ioctl('KVM_XEN_HVM_CONFIG', b))
  }

  /** KVM_XEN_HVM_SET_ATTR for any VM attribute type. */
  xenHvmSetAttr(attr: XenHvmAttr): void {
    const b = encodeXenHvmAttr(attr)
    const need = capNeed('XEN_HVM', XEN_HVM_ATTR_TYPES[attr.type].feature)
    this.#need(need, () => this.#ioctl('KVM_XEN_HVM_SET_ATTR', b))
  }

  /** KVM_XEN_HVM_GET_ATTR for any VM attribute type the kernel reports. */
  xenHvmGetAttr<T extends XenHvmAttrType>(
    type: T,
  ): Extract<
    XenHvmAttr,
    {
      /** The attribute type asked for. */
      type: T
    }
  > {
    const t = oneOf('KVM_XEN_HVM_GET_ATTR', 'type', type, XEN_HVM_ATTR_TYPES)
    const b = emptyXenHvmAttr(t)
    const need = capNeed('XEN_HVM', XEN_HVM_ATTR_TYPES[t].feature)
    this.#need(need, () => this.#ioctl('KVM_XEN_HVM_GET_ATTR', b))
    return decodeXenHvmAttr(t, b) as Extract<XenHvmAttr, { type: T }>
  }

  /** KVM_XEN_HVM_EVTCHN_SEND: raises a Xen event channel port on a vCPU from the VMM. */
  xenEvtchnSend(send: XenEvtchnSend): void {
    const b = encodeXenEvtchnSend(send)
    const need = capNeed('XEN_HVM', abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND)
    this.#need(need, () => this.#ioctl('KVM_XEN_HVM_EVTCHN_SEND', b))
  }

  // --- lifetime

  /**
   * Closes the VM for every thread: kicks and closes its vCPUs, deletes its memory slots,
   * closes the fd, and detaches this thread's buffers. Idempotent.
   */
  close(): void {
    for (const v of this.#vcpus) v.close()
    this.#vcpus.clear()
    this.#native.close()
    this.#regions.clear()
  }
}
