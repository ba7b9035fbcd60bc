// The arguments of the VM ioctls as plain objects, checked and encoded into their KVM structs
// (offsets from abi.ts). Every field is checked before a byte is written: a bad one is a
// KvmError 'EINVAL' naming the ioctl and the field.
import * as abi from './abi.js'
import { flag, invalid, object, safeUint, u64, uint } from './args.js'
import { EventFd, type FdLike } from './eventfd.js'

/** Where a new memory region goes. */
export interface MemoryRegionOptions {
  /** The KVM memory slot (0 .. KVM_CAP_NR_MEMSLOTS - 1). */
  slot: number
  /** Guest physical address, page-aligned (a number, as every guest physical address here). */
  guestPhysAddr: number
  /** Bytes, a positive multiple of the page size. */
  size: number
  /** KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY (default 0). */
  flags?: number
}

/** A guest memory region: anonymous memory the addon mapped and registered with KVM. */
export interface MemoryRegion {
  /** The KVM memslot it occupies. */
  readonly slot: number
  /** KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY. */
  readonly flags: number
  /** Where it starts in guest physical memory (a number, below 2^52). */
  readonly guestPhysAddr: number
  /** Its length in bytes. */
  readonly size: number
  /** The mapping's host virtual address (for SHARED_INFO_HVA / VCPU_INFO_HVA). */
  readonly hostAddress: bigint
  /** The guest memory itself, no copy. Detached when the region is removed or the VM closed. */
  readonly buffer: ArrayBuffer
}

/** An MSI (struct kvm_msi) for KVM_SIGNAL_MSI. */
export interface Msi {
  /** Low 32 bits of the MSI address (0xfee00000 | APIC ID << 12). */
  addressLo: number
  /** High 32 bits of the address (x2APIC ID bits 31:8); default 0. */
  addressHi?: number
  /** The MSI data word (vector, delivery mode, trigger). */
  data: number
  /** KVM_MSI_VALID_DEVID when `devid` is meaningful. */
  flags?: number
  /** The requester id (bus/device/function); default 0. */
  devid?: number
}

/** KVM_IRQFD arguments. */
export interface IrqfdOptions {
  /** The eventfd whose writes raise `gsi`. */
  fd: FdLike
  /** The GSI raised (routed through KVM_SET_GSI_ROUTING). */
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
  /** Port number (pio) or guest physical address (MMIO), a number. */
  addr: number
  /** Access length 1, 2, 4 or 8; 0 matches any length (KVM_CAP_IOEVENTFD_ANY_LENGTH). */
  len: number
  /** Only writes of this value signal (KVM_IOEVENTFD_FLAG_DATAMATCH); a raw u64. */
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
  /** The Xen event channel port to raise. */
  port: number
  /** The KVM vCPU id (APIC ID) the port is bound to. */
  vcpu: number
  /** Default KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL, the only value KVM accepts. */
  priority?: number
}

/** struct kvm_clock_data (KVM_GET_CLOCK). */
export interface ClockData {
  /** The guest's kvmclock, in ns. */
  clock: bigint
  /** KVM_CLOCK_TSC_STABLE 2, KVM_CLOCK_REALTIME 4, KVM_CLOCK_HOST_TSC 8. */
  flags: number
  /** Host CLOCK_REALTIME (ns) at that instant, if KVM_CLOCK_REALTIME. */
  realtime: bigint
  /** The host TSC at the same instant, if KVM_CLOCK_HOST_TSC. */
  hostTsc: bigint
}

/** A zeroed struct of `layout.size` bytes, filled through a DataView. */
export function bytesOf(layout: { size: number }, fill: (v: DataView) => void): Uint8Array {
  const b = new Uint8Array(layout.size)
  fill(new DataView(b.buffer))
  return b
}

/** The fd of an EventFd or a number, checked (an fd is 0..2^31-1; a closed EventFd is -1). */
function fdArg(syscall: string, what: string, f: unknown): number {
  return uint(syscall, what, f instanceof EventFd ? f.fd : f, 31)
}

/** The region options, checked (the addon checks alignment and size against the host). */
export function memoryRegionArgs(options: MemoryRegionOptions): Required<MemoryRegionOptions> {
  const S = 'KVM_SET_USER_MEMORY_REGION'
  const o = object<MemoryRegionOptions>(S, 'options', options)
  return {
    slot: uint(S, 'slot', o.slot),
    guestPhysAddr: safeUint(S, 'guestPhysAddr', o.guestPhysAddr),
    size: safeUint(S, 'size', o.size),
    flags: uint(S, 'flags', o.flags ?? 0),
  }
}

/** struct kvm_irq_level for KVM_IRQ_LINE_STATUS. */
export function encodeIrqLevel(irq: number, level: boolean | number): Uint8Array {
  const S = 'KVM_IRQ_LINE_STATUS'
  const gsi = uint(S, 'irq', irq)
  const high = flag(S, 'level', level)
  return bytesOf(abi.kvm_irq_level, (v) => {
    v.setUint32(abi.kvm_irq_level.irq, gsi, true)
    v.setUint32(abi.kvm_irq_level.level, high ? 1 : 0, true)
  })
}

/** struct kvm_msi for KVM_SIGNAL_MSI. */
export function encodeMsi(msi: Msi): Uint8Array {
  const S = 'KVM_SIGNAL_MSI'
  const m = object<Msi>(S, 'msi', msi)
  const f = {
    address_lo: uint(S, 'addressLo', m.addressLo),
    address_hi: uint(S, 'addressHi', m.addressHi ?? 0),
    data: uint(S, 'data', m.data),
    flags: uint(S, 'flags', m.flags ?? 0),
    devid: uint(S, 'devid', m.devid ?? 0),
  }
  return bytesOf(abi.kvm_msi, (v) => {
    for (const [k, x] of Object.entries(f)) v.setUint32(abi.kvm_msi[k as keyof typeof f], x, true)
  })
}

/** struct kvm_irqfd for KVM_IRQFD. */
export function encodeIrqfd(options: IrqfdOptions): Uint8Array {
  const S = 'KVM_IRQFD'
  const o = object<IrqfdOptions>(S, 'options', options)
  const fd = fdArg(S, 'fd', o.fd)
  const gsi = uint(S, 'gsi', o.gsi)
  const resample = o.resampleFd === undefined ? undefined : fdArg(S, 'resampleFd', o.resampleFd)
  let flags = flag(S, 'deassign', o.deassign ?? false) ? abi.KVM_IRQFD_FLAG_DEASSIGN : 0
  if (resample !== undefined) flags |= abi.KVM_IRQFD_FLAG_RESAMPLE
  return bytesOf(abi.kvm_irqfd, (v) => {
    v.setUint32(abi.kvm_irqfd.fd, fd, true)
    v.setUint32(abi.kvm_irqfd.gsi, gsi, true)
    v.setUint32(abi.kvm_irqfd.flags, flags, true)
    if (resample !== undefined) v.setUint32(abi.kvm_irqfd.resamplefd, resample, true)
  })
}

/** struct kvm_ioeventfd for KVM_IOEVENTFD. */
export function encodeIoeventfd(options: IoeventfdOptions): Uint8Array {
  const S = 'KVM_IOEVENTFD'
  const o = object<IoeventfdOptions>(S, 'options', options)
  const fd = fdArg(S, 'fd', o.fd)
  const addr = safeUint(S, 'addr', o.addr)
  const len = uint(S, 'len', o.len)
  if (![0, 1, 2, 4, 8].includes(len)) throw invalid(S, 'len', len, '0, 1, 2, 4 or 8')
  const datamatch = o.datamatch === undefined ? undefined : u64(S, 'datamatch', o.datamatch)
  let flags = flag(S, 'pio', o.pio ?? false) ? abi.KVM_IOEVENTFD_FLAG_PIO : 0
  if (datamatch !== undefined) flags |= abi.KVM_IOEVENTFD_FLAG_DATAMATCH
  if (flag(S, 'deassign', o.deassign ?? false)) flags |= abi.KVM_IOEVENTFD_FLAG_DEASSIGN
  return bytesOf(abi.kvm_ioeventfd, (v) => {
    v.setBigUint64(abi.kvm_ioeventfd.datamatch, datamatch ?? 0n, true)
    v.setBigUint64(abi.kvm_ioeventfd.addr, BigInt(addr), true)
    v.setUint32(abi.kvm_ioeventfd.len, len, true)
    v.setInt32(abi.kvm_ioeventfd.fd, fd, true)
    v.setUint32(abi.kvm_ioeventfd.flags, flags, true)
  })
}

/** struct kvm_enable_cap for KVM_ENABLE_CAP: up to four u64 arguments. */
export function encodeEnableCap(cap: number, args: readonly (number | bigint)[], flags: number) {
  const S = 'KVM_ENABLE_CAP'
  const c = uint(S, 'cap', cap)
  const f = uint(S, 'flags', flags)
  if (!Array.isArray(args) || args.length > 4)
    throw invalid(S, 'args', args, 'an array of at most 4 values')
  const a = args.map((x, i) => u64(S, `args[${i}]`, x))
  return bytesOf(abi.kvm_enable_cap, (v) => {
    v.setUint32(abi.kvm_enable_cap.cap, c, true)
    v.setUint32(abi.kvm_enable_cap.flags, f, true)
    a.forEach((x, i) => {
      v.setBigUint64(abi.kvm_enable_cap.args + 8 * i, x, true)
    })
  })
}

/** struct kvm_xen_hvm_config for KVM_XEN_HVM_CONFIG. */
export function encodeXenHvmConfig(config: XenHvmConfig): Uint8Array {
  const S = 'KVM_XEN_HVM_CONFIG'
  const c = object<XenHvmConfig>(S, 'config', config)
  const flags = uint(S, 'flags', c.flags)
  const msr = uint(S, 'msr', c.msr ?? 0)
  return bytesOf(abi.kvm_xen_hvm_config, (v) => {
    v.setUint32(abi.kvm_xen_hvm_config.flags, flags, true)
    v.setUint32(abi.kvm_xen_hvm_config.msr, msr, true)
  })
}

/** struct kvm_irq_routing_xen_evtchn for KVM_XEN_HVM_EVTCHN_SEND. */
export function encodeXenEvtchnSend(send: XenEvtchnSend): Uint8Array {
  const S = 'KVM_XEN_HVM_EVTCHN_SEND'
  const s = object<XenEvtchnSend>(S, 'send', send)
  const port = uint(S, 'port', s.port)
  const vcpu = uint(S, 'vcpu', s.vcpu)
  const priority = uint(S, 'priority', s.priority ?? abi.KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL)
  const e = abi.KVM_IRQ_ROUTING_ENTRY.xenEvtchn
  const at = abi.KVM_IRQ_ROUTING_ENTRY.u
  return bytesOf({ size: abi.KVM_STRUCT_SIZES.kvm_irq_routing_xen_evtchn }, (v) => {
    v.setUint32(e.port - at, port, true)
    v.setUint32(e.vcpu - at, vcpu, true)
    v.setUint32(e.priority - at, priority, true)
  })
}

/** struct kvm_clock_data -> ClockData. */
export function decodeClock(b: Uint8Array): ClockData {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength)
  return {
    clock: v.getBigUint64(abi.kvm_clock_data.clock, true),
    flags: v.getUint32(abi.kvm_clock_data.flags, true),
    realtime: v.getBigUint64(abi.kvm_clock_data.realtime, true),
    hostTsc: v.getBigUint64(abi.kvm_clock_data.host_tsc, true),
  }
}
