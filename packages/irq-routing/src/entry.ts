// The model of struct kvm_irq_routing_entry: plain objects, a union on `type`.
// Field names are the kernel's in camelCase; every number is a __u32 unless said otherwise.
import { KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL } from '@tsvmm/kvm-sys/abi'
import { RoutingError } from './errors.js'

/** A route to a pin of the in-kernel PIC or IOAPIC (KVM_IRQ_ROUTING_IRQCHIP). */
export interface IrqchipRoute {
  gsi: number
  type: 'irqchip'
  /** KVM_IRQCHIP_PIC_MASTER (0), KVM_IRQCHIP_PIC_SLAVE (1) or KVM_IRQCHIP_IOAPIC (2). */
  irqchip: number
  pin: number
}

/** An MSI message (KVM_IRQ_ROUTING_MSI). */
export interface MsiRoute {
  gsi: number
  type: 'msi'
  addressLo: number
  addressHi: number
  data: number
  /** Present means the entry carries KVM_MSI_VALID_DEVID and this device id. */
  devid?: number
}

/** An s390 adapter interrupt (KVM_IRQ_ROUTING_S390_ADAPTER); rejected on x86. */
export interface S390AdapterRoute {
  gsi: number
  type: 's390Adapter'
  /** __u64 */
  indAddr: bigint
  /** __u64 */
  summaryAddr: bigint
  /** __u64 */
  indOffset: bigint
  summaryOffset: number
  adapterId: number
}

/** A Hyper-V synthetic interrupt (KVM_IRQ_ROUTING_HV_SINT). */
export interface HvSintRoute {
  gsi: number
  type: 'hvSint'
  vcpu: number
  sint: number
}

/** A Xen event channel port raised in the kernel (KVM_IRQ_ROUTING_XEN_EVTCHN). */
export interface XenEvtchnRoute {
  gsi: number
  type: 'xenEvtchn'
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

/** Fields of each route type and whether each holds a u32 or a u64 (bigint). */
const FIELDS: Record<RoutingEntryType, Record<string, 'u32' | 'u64' | 'u32?'>> = {
  irqchip: { gsi: 'u32', irqchip: 'u32', pin: 'u32' },
  msi: { gsi: 'u32', addressLo: 'u32', addressHi: 'u32', data: 'u32', devid: 'u32?' },
  s390Adapter: {
    gsi: 'u32',
    indAddr: 'u64',
    summaryAddr: 'u64',
    indOffset: 'u64',
    summaryOffset: 'u32',
    adapterId: 'u32',
  },
  hvSint: { gsi: 'u32', vcpu: 'u32', sint: 'u32' },
  xenEvtchn: { gsi: 'u32', port: 'u32', vcpu: 'u32', priority: 'u32?' },
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
    return new RoutingError('entry-shape', `${String(value)} is not a routing entry`, index)
  }
  const entry = value as Record<string, unknown>
  const type = entry.type
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) {
    return new RoutingError('entry-shape', `unknown route type ${String(type)}`, index)
  }
  for (const [field, kind] of Object.entries(FIELDS[type as RoutingEntryType])) {
    const v = entry[field]
    const ok = kind === 'u64' ? isU64(v) : isU32(v) || (kind === 'u32?' && v === undefined)
    if (!ok) {
      const what = kind === 'u64' ? 'a u64 bigint' : 'a u32'
      return new RoutingError('field-range', `${field} ${String(v)} is not ${what}`, index)
    }
  }
  return undefined
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
