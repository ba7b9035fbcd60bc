// The model of struct kvm_irq_routing_entry: plain objects, a union on `type`.
// Field names are the kernel's in camelCase; every number is a __u32 unless said otherwise.
import { KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL } from '@tsvmm/kvm-sys/abi'
import { describe } from './describe.js'
import { RoutingError } from './errors.js'

/** A route to a pin of the in-kernel PIC or IOAPIC (KVM_IRQ_ROUTING_IRQCHIP). */
export interface IrqchipRoute {
  /** kvm_irq_routing_entry.gsi: the global system interrupt this entry routes. */
  gsi: number
  /** kvm_irq_routing_entry.type KVM_IRQ_ROUTING_IRQCHIP (1). */
  type: 'irqchip'
  /** kvm_irq_routing_irqchip.irqchip: KVM_IRQCHIP_PIC_MASTER (0), _PIC_SLAVE (1) or _IOAPIC (2). */
  irqchip: number
  /** kvm_irq_routing_irqchip.pin: the input pin of that chip (0-7 on a PIC, 0-23 on the IOAPIC). */
  pin: number
}

/** An MSI message (KVM_IRQ_ROUTING_MSI). */
export interface MsiRoute {
  /** kvm_irq_routing_entry.gsi: the global system interrupt this entry routes. */
  gsi: number
  /** kvm_irq_routing_entry.type KVM_IRQ_ROUTING_MSI (2). */
  type: 'msi'
  /** kvm_irq_routing_msi.address_lo: low 32 bits of the MSI address (0xFEExxxxx on x86). */
  addressLo: number
  /** kvm_irq_routing_msi.address_hi: high 32 bits; with x2APIC format, bits 31:8 of the APIC ID. */
  addressHi: number
  /** kvm_irq_routing_msi.data: the MSI data word (vector, delivery mode, trigger). */
  data: number
  /** Present means the entry carries KVM_MSI_VALID_DEVID and this device id. */
  devid?: number
}

/** An s390 adapter interrupt (KVM_IRQ_ROUTING_S390_ADAPTER); rejected on x86. */
export interface S390AdapterRoute {
  /** kvm_irq_routing_entry.gsi: the global system interrupt this entry routes. */
  gsi: number
  /** kvm_irq_routing_entry.type KVM_IRQ_ROUTING_S390_ADAPTER (3). */
  type: 's390Adapter'
  /** kvm_irq_routing_s390_adapter.ind_addr (__u64): address of the indicator bits. */
  indAddr: bigint
  /** kvm_irq_routing_s390_adapter.summary_addr (__u64): address of the summary indicator. */
  summaryAddr: bigint
  /** kvm_irq_routing_s390_adapter.ind_offset (__u64): bit offset into the indicators. */
  indOffset: bigint
  /** kvm_irq_routing_s390_adapter.summary_offset: bit offset of the summary indicator. */
  summaryOffset: number
  /** kvm_irq_routing_s390_adapter.adapter_id: the I/O adapter's id. */
  adapterId: number
}

/** A Hyper-V synthetic interrupt (KVM_IRQ_ROUTING_HV_SINT). */
export interface HvSintRoute {
  /** kvm_irq_routing_entry.gsi: the global system interrupt this entry routes. */
  gsi: number
  /** kvm_irq_routing_entry.type KVM_IRQ_ROUTING_HV_SINT (4). */
  type: 'hvSint'
  /** kvm_irq_routing_hv_sint.vcpu: the vCPU whose SynIC receives the interrupt. */
  vcpu: number
  /** kvm_irq_routing_hv_sint.sint: the synthetic interrupt source, 0-15. */
  sint: number
}

/** A Xen event channel port raised in the kernel (KVM_IRQ_ROUTING_XEN_EVTCHN). */
export interface XenEvtchnRoute {
  /** kvm_irq_routing_entry.gsi: the global system interrupt this entry routes. */
  gsi: number
  /** kvm_irq_routing_entry.type KVM_IRQ_ROUTING_XEN_EVTCHN (5). */
  type: 'xenEvtchn'
  /** kvm_irq_routing_xen_evtchn.port: the guest's event channel port the kernel raises. */
  port: number
  /** The KVM vCPU id (APIC ID), not the Xen vCPU id. */
  vcpu: number
  /** Defaults to KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL (0xFFFFFFFF), the only value KVM takes. */
  priority?: number
}

/** One entry of a GSI routing table. */
export type RoutingEntry = IrqchipRoute | MsiRoute | S390AdapterRoute | HvSintRoute | XenEvtchnRoute

/** The `type` tags of RoutingEntry. */
export type RoutingEntryType = RoutingEntry['type']

const U64_MAX = 0xffff_ffff_ffff_ffffn
const isU32 = (v: unknown): boolean => typeof v === 'number' && v >>> 0 === v
const isU64 = (v: unknown): boolean => typeof v === 'bigint' && v >= 0n && v <= U64_MAX

type FieldKind = 'u32' | 'u64' | 'u32?'

/** Fields of each route type and whether each holds a u32 or a u64 (bigint). */
const FIELDS: Record<RoutingEntryType, readonly (readonly [string, FieldKind])[]> = {
  irqchip: [
    ['gsi', 'u32'],
    ['irqchip', 'u32'],
    ['pin', 'u32'],
  ],
  msi: [
    ['gsi', 'u32'],
    ['addressLo', 'u32'],
    ['addressHi', 'u32'],
    ['data', 'u32'],
    ['devid', 'u32?'],
  ],
  s390Adapter: [
    ['gsi', 'u32'],
    ['indAddr', 'u64'],
    ['summaryAddr', 'u64'],
    ['indOffset', 'u64'],
    ['summaryOffset', 'u32'],
    ['adapterId', 'u32'],
  ],
  hvSint: [
    ['gsi', 'u32'],
    ['vcpu', 'u32'],
    ['sint', 'u32'],
  ],
  xenEvtchn: [
    ['gsi', 'u32'],
    ['port', 'u32'],
    ['vcpu', 'u32'],
    ['priority', 'u32?'],
  ],
}

/**
 * Why `value` cannot be an entry of struct kvm_irq_routing (not an object, an unknown type, a
 * field that is not a u32 or u64), or undefined when it can. `index` names it in the error.
 */
export function entryShapeError(
  value: unknown,
  index: number | undefined,
): RoutingError | undefined {
  if (typeof value !== 'object' || value === null) {
    return new RoutingError('entry-shape', `${describe(value)} is not a routing entry`, index)
  }
  const entry = value as Record<string, unknown>
  const type = entry.type
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) {
    return new RoutingError('entry-shape', `unknown route type ${describe(type)}`, index)
  }
  for (const [field, kind] of FIELDS[type as RoutingEntryType]) {
    const v = entry[field]
    const ok = kind === 'u64' ? isU64(v) : isU32(v) || (kind === 'u32?' && v === undefined)
    if (!ok) {
      const what = kind === 'u64' ? 'a u64 bigint' : 'a u32'
      return new RoutingError('field-range', `${field} ${describe(v)} is not ${what}`, index)
    }
  }
  return undefined
}

/** A RoutingError when `entries` is not an array (a plain `{}` has no entries, not zero). */
export function tableShapeError(entries: unknown): RoutingError | undefined {
  return Array.isArray(entries)
    ? undefined
    : new RoutingError('entry-shape', `the table ${describe(entries)} is not an array of entries`)
}

/** The entry as decodeRouting returns it: a copy with `priority` filled in on Xen routes. */
export function normalizeEntry(entry: RoutingEntry): RoutingEntry {
  if (entry.type === 'xenEvtchn') {
    return { ...entry, priority: entry.priority ?? KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL }
  }
  if (entry.type === 'msi' && entry.devid === undefined) {
    const { devid: _omitted, ...rest } = entry
    return rest
  }
  return { ...entry }
}
