// Vm: a VM fd. Guest memory regions, vCPUs, interrupt plumbing and the Xen HVM ioctls.
import { markAsUntransferable } from 'node:worker_threads'
import * as abi from './abi.js'
import { type CapabilityNeed, withCapability } from './capability-hint.js'
import { type FdLike, fdOf } from './eventfd.js'
import { loadNative, type NativeVm, op } from './native.js'
import { Vcpu } from './vcpu.js'
import {
  decodeXenHvmAttr,
  emptyXenHvmAttr,
  encodeXenHvmAttr,
  XEN_HVM_ATTR_TYPES,
  type XenHvmAttr,
  type XenHvmAttrType,
} from './xen.js'

/** Where a new memory region goes. */
export interface MemoryRegionOptions {
  /** The KVM memory slot (0 .. KVM_CAP_NR_MEMSLOTS - 1). */
  slot: number
  /** Guest physical address, page-aligned. */
  guestPhysAddr: number | bigint
  /** Bytes, a positive multiple of the page size. */
  size: number
  /** KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY (default 0). */
  flags?: number
}

/** A guest memory region: anonymous memory the addon mapped and registered with KVM. */
export interface MemoryRegion {
  /** kvm_userspace_memory_region.slot: the KVM memslot it occupies. */
  readonly slot: number
  /** kvm_userspace_memory_region.flags: KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY. */
  readonly flags: number
  /** kvm_userspace_memory_region.guest_phys_addr: where it starts in guest physical memory. */
  readonly guestPhysAddr: bigint
  /** kvm_userspace_memory_region.memory_size: its length in bytes. */
  readonly size: number
  /** The mapping's host virtual address (for SHARED_INFO_HVA / VCPU_INFO_HVA). */
  readonly hostAddress: bigint
  /** The guest memory itself, no copy. Detached when the region is removed or the VM closed. */
  readonly buffer: ArrayBuffer
}

/** An MSI (struct kvm_msi) for KVM_SIGNAL_MSI. */
export interface Msi {
  /** kvm_msi.address_lo: low 32 bits of the MSI address (0xfee00000 | APIC ID << 12). */
  addressLo: number
  /** kvm_msi.address_hi: high 32 bits of the address (x2APIC ID bits 31:8); default 0. */
  addressHi?: number
  /** kvm_msi.data: the MSI data word (vector, delivery mode, trigger). */
  data: number
  /** KVM_MSI_VALID_DEVID when `devid` is meaningful. */
  flags?: number
  /** kvm_msi.devid: the requester id (bus/device/function); default 0. */
  devid?: number
}

/** KVM_IRQFD arguments. */
export interface IrqfdOptions {
  /** The eventfd whose writes raise `gsi`. */
  fd: FdLike
  /** kvm_irqfd.gsi: the GSI raised (routed through KVM_SET_GSI_ROUTING). */
  gsi: number
  /** KVM_IRQFD_FLAG_RESAMPLE: this eventfd is signalled when a level interrupt is EOI'd. */
  resampleFd?: FdLike
  /** KVM_IRQFD_FLAG_DEASSIGN: detach `fd` from `gsi` instead. */
  deassign?: boolean
}

/** KVM_IOEVENTFD arguments. */
export interface IoeventfdOptions {
  /** The eventfd to signal when the guest writes `addr`. */
  fd: FdLike
  /** Port number (pio) or guest physical address (MMIO). */
  addr: number | bigint
  /** Access length 1, 2, 4 or 8; 0 matches any length (KVM_CAP_IOEVENTFD_ANY_LENGTH). */
  len: number
  /** Only writes of this value signal (KVM_IOEVENTFD_FLAG_DATAMATCH). */
  datamatch?: number | bigint
  /** A port (KVM_IOEVENTFD_FLAG_PIO) rather than MMIO. */
  pio?: boolean
  /** KVM_IOEVENTFD_FLAG_DEASSIGN: remove a registration made with the same arguments. */
  deassign?: boolean
}

/** KVM_XEN_HVM_CONFIG arguments. Hypercall-page blobs (host pointers) are not supported. */
export interface XenHvmConfig {
  /** KVM_XEN_HVM_CONFIG_* flags, e.g. INTERCEPT_HCALL | EVTCHN_SEND. */
  flags: number
  /** The MSR through which the guest asks for the hypercall page (0: none). */
  msr?: number
}

/** KVM_XEN_HVM_EVTCHN_SEND arguments (struct kvm_irq_routing_xen_evtchn). */
export interface XenEvtchnSend {
  /** kvm_irq_routing_xen_evtchn.port: the Xen event channel port to raise. */
  port: number
  /** The KVM vCPU id (APIC ID) the port is bound to. */
  vcpu: number
  /** Default KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL, the only value KVM accepts. */
  priority?: number
}

/** struct kvm_clock_data (KVM_GET_CLOCK). */
export interface ClockData {
  /** kvm_clock_data.clock: the guest's kvmclock, in ns. */
  clock: bigint
  /** kvm_clock_data.flags: KVM_CLOCK_TSC_STABLE 2, KVM_CLOCK_REALTIME 4, KVM_CLOCK_HOST_TSC 8. */
  flags: number
  /** kvm_clock_data.realtime: host CLOCK_REALTIME (ns) at that instant, if KVM_CLOCK_REALTIME. */
  realtime: bigint
  /** kvm_clock_data.host_tsc: the host TSC at the same instant, if KVM_CLOCK_HOST_TSC. */
  hostTsc: bigint
}

const CAP = (name: string, feature?: number): CapabilityNeed => ({
  cap: (abi as unknown as Record<string, number>)[`KVM_CAP_${name}`] ?? -1,
  name: `KVM_CAP_${name}`,
  ...(feature !== undefined && { feature }),
})

function bytesOf(layout: { size: number }, fill: (v: DataView) => void): Uint8Array {
  const b = new Uint8Array(layout.size)
  fill(new DataView(b.buffer))
  return b
}

/**
 * A virtual machine. Create it with `kvm.createVm()`; in a worker thread attach to it with
 * `Vm.fromHandle(vm.handle)`. `close()` closes the VM for every thread: its vCPUs are kicked
 * and closed, its memory slots deleted, and this thread's buffers detached.
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
    return new Vm(loadNative().attachVm(handle))
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
  checkExtension(cap: number): number {
    return this.#ioctl('KVM_CHECK_EXTENSION', cap)
  }

  // --- memory

  /**
   * KVM_SET_USER_MEMORY_REGION over fresh anonymous memory the addon maps (page-aligned, not
   * copied: `buffer` is the guest's RAM).
   */
  addMemoryRegion(options: MemoryRegionOptions): MemoryRegion {
    const { slot, guestPhysAddr, size, flags = 0 } = options
    this.#native.addMemoryRegion(slot, BigInt(guestPhysAddr), size, flags)
    const region = this.#regionView(slot)
    if (region === undefined) throw new Error(`kvm-sys: region ${slot} vanished`)
    return region
  }

  /**
   * KVM_SET_USER_MEMORY_REGION with size 0: the kernel lets go of the slot, then this thread's
   * buffers over it are detached, then the memory is unmapped (once no thread holds a view).
   */
  removeMemoryRegion(slot: number): void {
    this.#native.removeMemoryRegion(slot)
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
    const region: MemoryRegion = { ...info, buffer }
    this.#regions.set(slot, region)
    return region
  }

  // --- vCPUs

  /** KVM_CREATE_VCPU, and mmap of its kvm_run area. */
  createVcpu(id: number): Vcpu {
    const vcpu = Vcpu.wrap(this.#native.createVcpu(id))
    this.#vcpus.add(vcpu)
    return vcpu
  }

  // --- interrupt controllers and routing

  /** KVM_CREATE_IRQCHIP: in-kernel PIC, IOAPIC and local APICs (before creating vCPUs). */
  createIrqchip(): void {
    this.#need(CAP('IRQCHIP'), () => this.#ioctl('KVM_CREATE_IRQCHIP'))
  }

  /** KVM_CREATE_PIT2: the in-kernel i8254 (flags: KVM_PIT_SPEAKER_DUMMY). */
  createPit2(flags = 0): void {
    const b = bytesOf(abi.kvm_pit_config, (v) => v.setUint32(abi.kvm_pit_config.flags, flags, true))
    this.#need(CAP('PIT2'), () => this.#ioctl('KVM_CREATE_PIT2', b))
  }

  /** KVM_ENABLE_CAP on the VM, with up to four u64 arguments. */
  enableCap(cap: number, args: readonly (number | bigint)[] = [], flags = 0): void {
    if (args.length > 4) throw new RangeError('KVM_ENABLE_CAP takes at most 4 arguments')
    const b = bytesOf(abi.kvm_enable_cap, (v) => {
      v.setUint32(abi.kvm_enable_cap.cap, cap, true)
      v.setUint32(abi.kvm_enable_cap.flags, flags, true)
      args.forEach((a, i) => {
        v.setBigUint64(abi.kvm_enable_cap.args + 8 * i, BigInt.asUintN(64, BigInt(a)), true)
      })
    })
    this.#need({ cap, name: `capability ${cap}` }, () => this.#ioctl('KVM_ENABLE_CAP', b))
  }

  /** KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): in-kernel local APICs, IOAPIC in userspace. */
  enableSplitIrqchip(ioapicPins = 24): void {
    this.#need(CAP('SPLIT_IRQCHIP'), () => this.enableCap(abi.KVM_CAP_SPLIT_IRQCHIP, [ioapicPins]))
  }

  /**
   * KVM_SET_GSI_ROUTING with an encoded struct kvm_irq_routing (header + entries). The kernel
   * checks every entry; on 'EINVAL' the previous table stays in force.
   */
  setGsiRouting(table: Uint8Array): void {
    this.#need(CAP('IRQ_ROUTING'), () => this.#ioctl('KVM_SET_GSI_ROUTING', table))
  }

  /**
   * KVM_IRQ_LINE_STATUS: sets a GSI's level (edge-triggered inputs want 1 then 0). Returns the
   * delivery status (> 0 delivered, 0 coalesced or masked, < 0 not delivered).
   */
  irqLine(irq: number, level: boolean | number): number {
    const b = bytesOf(abi.kvm_irq_level, (v) => {
      v.setUint32(abi.kvm_irq_level.irq, irq, true)
      v.setUint32(abi.kvm_irq_level.level, level ? 1 : 0, true)
    })
    this.#need(CAP('IRQ_INJECT_STATUS'), () => this.#ioctl('KVM_IRQ_LINE_STATUS', b))
    return new DataView(b.buffer).getInt32(abi.kvm_irq_level.status, true)
  }

  /** KVM_SIGNAL_MSI: injects one MSI. Returns > 0 if delivered, 0 if the guest blocked it. */
  signalMsi(msi: Msi): number {
    const b = bytesOf(abi.kvm_msi, (v) => {
      v.setUint32(abi.kvm_msi.address_lo, msi.addressLo >>> 0, true)
      v.setUint32(abi.kvm_msi.address_hi, (msi.addressHi ?? 0) >>> 0, true)
      v.setUint32(abi.kvm_msi.data, msi.data >>> 0, true)
      v.setUint32(abi.kvm_msi.flags, msi.flags ?? 0, true)
      v.setUint32(abi.kvm_msi.devid, msi.devid ?? 0, true)
    })
    return this.#need(CAP('SIGNAL_MSI'), () => this.#ioctl('KVM_SIGNAL_MSI', b))
  }

  /** KVM_IRQFD: assign (or deassign) an eventfd that raises a GSI, optionally with resample. */
  irqfd(options: IrqfdOptions): void {
    const { gsi, resampleFd, deassign = false } = options
    let flags = deassign ? abi.KVM_IRQFD_FLAG_DEASSIGN : 0
    if (resampleFd !== undefined) flags |= abi.KVM_IRQFD_FLAG_RESAMPLE
    const b = bytesOf(abi.kvm_irqfd, (v) => {
      v.setUint32(abi.kvm_irqfd.fd, fdOf(options.fd), true)
      v.setUint32(abi.kvm_irqfd.gsi, gsi, true)
      v.setUint32(abi.kvm_irqfd.flags, flags, true)
      if (resampleFd !== undefined) v.setUint32(abi.kvm_irqfd.resamplefd, fdOf(resampleFd), true)
    })
    const need = resampleFd === undefined ? CAP('IRQFD') : CAP('IRQFD_RESAMPLE')
    this.#need(need, () => this.#ioctl('KVM_IRQFD', b))
  }

  /** KVM_IOEVENTFD: signal an eventfd on a guest write to a port or MMIO address. */
  ioeventfd(options: IoeventfdOptions): void {
    const { addr, len, datamatch, pio = false, deassign = false } = options
    let flags = pio ? abi.KVM_IOEVENTFD_FLAG_PIO : 0
    if (datamatch !== undefined) flags |= abi.KVM_IOEVENTFD_FLAG_DATAMATCH
    if (deassign) flags |= abi.KVM_IOEVENTFD_FLAG_DEASSIGN
    const b = bytesOf(abi.kvm_ioeventfd, (v) => {
      v.setBigUint64(abi.kvm_ioeventfd.datamatch, BigInt.asUintN(64, BigInt(datamatch ?? 0)), true)
      v.setBigUint64(abi.kvm_ioeventfd.addr, BigInt.asUintN(64, BigInt(addr)), true)
      v.setUint32(abi.kvm_ioeventfd.len, len, true)
      v.setInt32(abi.kvm_ioeventfd.fd, fdOf(options.fd), true)
      v.setUint32(abi.kvm_ioeventfd.flags, flags, true)
    })
    this.#need(CAP('IOEVENTFD'), () => this.#ioctl('KVM_IOEVENTFD', b))
  }

  // --- x86 VM setup

  /** KVM_SET_TSS_ADDR: three pages of guest physical space KVM needs on Intel (below 4 GiB). */
  setTssAddr(addr: number): void {
    this.#need(CAP('SET_TSS_ADDR'), () => this.#ioctl('KVM_SET_TSS_ADDR', addr))
  }

  /** KVM_SET_IDENTITY_MAP_ADDR: one page for the EPT identity map on Intel (below 4 GiB). */
  setIdentityMapAddr(addr: number | bigint): void {
    const b = bytesOf({ size: 8 }, (v) => v.setBigUint64(0, BigInt(addr), true))
    this.#need(CAP('SET_IDENTITY_MAP_ADDR'), () => this.#ioctl('KVM_SET_IDENTITY_MAP_ADDR', b))
  }

  /** KVM_SET_TSC_KHZ on the VM: the default TSC frequency of vCPUs created after it. */
  setTscKhz(khz: number): void {
    this.#need(CAP('VM_TSC_CONTROL'), () => this.#ioctl('KVM_SET_TSC_KHZ', khz))
  }

  /** KVM_GET_CLOCK: the kvmclock base of the VM. */
  getClock(): ClockData {
    const b = new Uint8Array(abi.kvm_clock_data.size)
    this.#need(CAP('ADJUST_CLOCK'), () => this.#ioctl('KVM_GET_CLOCK', b))
    const v = new DataView(b.buffer)
    return {
      clock: v.getBigUint64(abi.kvm_clock_data.clock, true),
      flags: v.getUint32(abi.kvm_clock_data.flags, true),
      realtime: v.getBigUint64(abi.kvm_clock_data.realtime, true),
      hostTsc: v.getBigUint64(abi.kvm_clock_data.host_tsc, true),
    }
  }

  /** KVM_SET_CLOCK: sets the kvmclock base (ns). */
  setClock(clock: bigint): void {
    const b = bytesOf(abi.kvm_clock_data, (v) =>
      v.setBigUint64(abi.kvm_clock_data.clock, BigInt.asUintN(64, clock), true),
    )
    this.#need(CAP('ADJUST_CLOCK'), () => this.#ioctl('KVM_SET_CLOCK', b))
  }

  // --- Xen HVM

  /** KVM_XEN_HVM_CONFIG: turns on Xen HVM support (flags) and the hypercall-page MSR. */
  xenHvmConfig(config: XenHvmConfig): void {
    const b = bytesOf(abi.kvm_xen_hvm_config, (v) => {
      v.setUint32(abi.kvm_xen_hvm_config.flags, config.flags, true)
      v.setUint32(abi.kvm_xen_hvm_config.msr, config.msr ?? 0, true)
    })
    this.#need(CAP('XEN_HVM', config.flags), () => this.#ioctl('KVM_XEN_HVM_CONFIG', b))
  }

  /** KVM_XEN_HVM_SET_ATTR for any VM attribute type. */
  xenHvmSetAttr(attr: XenHvmAttr): void {
    const b = encodeXenHvmAttr(attr)
    const need = CAP('XEN_HVM', XEN_HVM_ATTR_TYPES[attr.type].feature)
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
    const b = emptyXenHvmAttr(type)
    const need = CAP('XEN_HVM', XEN_HVM_ATTR_TYPES[type].feature)
    this.#need(need, () => this.#ioctl('KVM_XEN_HVM_GET_ATTR', b))
    return decodeXenHvmAttr(type, b) as Extract<XenHvmAttr, { type: T }>
  }

  /** KVM_XEN_HVM_EVTCHN_SEND: raises a Xen event channel port on a vCPU from the VMM. */
  xenEvtchnSend(send: XenEvtchnSend): void {
    const e = abi.KVM_IRQ_ROUTING_ENTRY.xenEvtchn
    const at = abi.KVM_IRQ_ROUTING_ENTRY.u
    const b = bytesOf({ size: abi.KVM_STRUCT_SIZES.kvm_irq_routing_xen_evtchn }, (v) => {
      v.setUint32(e.port - at, send.port, true)
      v.setUint32(e.vcpu - at, send.vcpu, true)
      v.setUint32(
        e.priority - at,
        send.priority ?? abi.KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
        true,
      )
    })
    const need = CAP('XEN_HVM', abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND)
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
