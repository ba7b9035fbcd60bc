// The checks KVM_SET_GSI_ROUTING makes on x86, in the kernel's order, so the first error we
// report is the entry the kernel would trip on:
//   kvm_vm_ioctl:         nr <= KVM_MAX_IRQ_ROUTES (flags = 0 is the encoder's job)
//   kvm_set_irq_routing:  every gsi < KVM_MAX_IRQ_ROUTES, then per entry: flags,
//   setup_routing_entry:  a GSI holds one non-irqchip route, or irqchip routes on distinct chips,
//   kvm_set_routing_entry (arch/x86/kvm/irq_comm.c) and kvm_xen_setup_evtchn (arch/x86/kvm/xen.c).
// Every failure is EINVAL, as in the kernel. One bad entry rejects the whole table.
import {
  KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
  KVM_IRQCHIP_IOAPIC,
  KVM_IRQCHIP_PIC_MASTER,
  KVM_IRQCHIP_PIC_SLAVE,
  KVM_MAX_IRQ_ROUTES,
} from '@tsvmm/kvm-sys/abi'
import { describe } from './describe.js'
import { entryShapeError, type RoutingEntry, tableShapeError } from './entry.js'
import { RoutingError } from './errors.js'

/** PIC_NUM_PINS / 2: pins per 8259 chip. */
export const PIC_PINS = 8
/** KVM_IOAPIC_NUM_PINS */
export const IOAPIC_PINS = 24
/** EVTCHN_2L_NR_CHANNELS: 2-level ports of a 64-bit guest. */
export const XEN_2L_PORTS_64 = 4096
/** COMPAT_EVTCHN_2L_NR_CHANNELS: 2-level ports of a 32-bit guest. */
export const XEN_2L_PORTS_32 = 1024

/** What the validator should assume about the VM and kernel. */
export interface ValidateOptions {
  /**
   * Most entries, and the GSI limit (KVM_MAX_IRQ_ROUTES is both). Default 4096; pass what
   * KVM_CHECK_EXTENSION(KVM_CAP_IRQ_ROUTING) returns (older x86 kernels: 1024).
   */
  maxRoutes?: number
  /**
   * KVM_CAP_MSI_DEVID is present. Without it an MSI route with `devid` is rejected: the API
   * document forbids KVM_MSI_VALID_DEVID then, although x86 kernels accept the flag (the one
   * deliberate difference from the kernel). Default false.
   */
  msiDevid?: boolean
  /** The architecture whose rules apply. Only x86 is modelled. */
  arch?: 'x86'
  /** How the irqchip was created: KVM_CREATE_IRQCHIP ('kernel', default) or split. */
  irqchip?: 'kernel' | 'split'
  /**
   * KVM_X2APIC_API_USE_32BIT_IDS is enabled (kvm->arch.x2apic_format): an MSI route whose
   * `addressHi & 0xff` is not 0 is rejected. Default false.
   */
  x2apicFormat?: boolean
  /**
   * Xen port policy for XEN_EVTCHN routes. Current kernels accept any port and fail delivery
   * later ('any', default); older kernels checked 4096 (64-bit guest) or 1024 (32-bit guest) at
   * set time. Pass a fixed limit, never one derived from the guest's current mode: the table is
   * restored before the guest's mode is, and must not change meaning with it.
   */
  xenPortLimit?: 'any' | typeof XEN_2L_PORTS_64 | typeof XEN_2L_PORTS_32
}

/** ValidateOptions with every default applied. */
export interface ResolvedValidateOptions {
  /** Most entries, and the GSI limit (KVM_MAX_IRQ_ROUTES unless given). */
  maxRoutes: number
  /** KVM_CAP_MSI_DEVID is present: MSI routes may carry KVM_MSI_VALID_DEVID. */
  msiDevid: boolean
  /** The architecture whose rules apply (only x86 is modelled). */
  arch: 'x86'
  /** In-kernel PIC and IOAPIC (KVM_CREATE_IRQCHIP) or split irqchip (no irqchip routes). */
  irqchip: 'kernel' | 'split'
  /** KVM_X2APIC_API_USE_32BIT_IDS is on: MSI `addressHi & 0xff` must be 0. */
  x2apicFormat: boolean
  /** XEN_EVTCHN ports must be below this at set time (older kernels), or 'any' (current ones). */
  xenPortLimit: 'any' | 4096 | 1024
}

/**
 * Applies the defaults; a RoutingError (rule 'options') for options that make no sense. Each
 * option must have its documented type: `{ x2apicFormat: 'false' }` is a caller's bug, and
 * reading it as true would silently change which tables pass.
 */
export function resolveValidateOptions(options: ValidateOptions = {}): ResolvedValidateOptions {
  const bad = (what: string) => new RoutingError('options', what)
  if (typeof options !== 'object' || options === null) {
    throw bad(`options ${describe(options)} is not an object`)
  }
  const o: ResolvedValidateOptions = {
    maxRoutes: options.maxRoutes ?? KVM_MAX_IRQ_ROUTES,
    msiDevid: options.msiDevid ?? false,
    arch: options.arch ?? 'x86',
    irqchip: options.irqchip ?? 'kernel',
    x2apicFormat: options.x2apicFormat ?? false,
    xenPortLimit: options.xenPortLimit ?? 'any',
  }
  if (!Number.isSafeInteger(o.maxRoutes) || o.maxRoutes < 0 || o.maxRoutes > 0xffff_ffff) {
    throw bad(`maxRoutes ${describe(o.maxRoutes)} is not a count`)
  }
  if (typeof o.msiDevid !== 'boolean')
    throw bad(`msiDevid ${describe(o.msiDevid)} is not a boolean`)
  if (typeof o.x2apicFormat !== 'boolean') {
    throw bad(`x2apicFormat ${describe(o.x2apicFormat)} is not a boolean`)
  }
  if (o.arch !== 'x86') throw bad(`arch ${describe(o.arch)} is not modelled (only 'x86')`)
  if (o.irqchip !== 'kernel' && o.irqchip !== 'split') {
    throw bad(`irqchip ${describe(o.irqchip)} is not 'kernel' or 'split'`)
  }
  if (o.xenPortLimit !== 'any' && o.xenPortLimit !== 4096 && o.xenPortLimit !== 1024) {
    throw bad(`xenPortLimit ${describe(o.xenPortLimit)} is not 'any', 4096 or 1024`)
  }
  return o
}

/** An entry the kernel has already accepted for a GSI, with its index in the table if known. */
export interface AcceptedRoute {
  /** The route already on the GSI. */
  entry: RoutingEntry
  /** Its position in the table being checked; absent when it has none (already in KVM). */
  index?: number
}

/**
 * The kernel's checks of one entry on its own (kvm_set_routing_entry, the flags check), GSI
 * range and sharing excepted. `entry` must have a valid shape (see entryShapeError).
 */
export function entryRuleError(
  entry: RoutingEntry,
  index: number | undefined,
  o: ResolvedValidateOptions,
): RoutingError | undefined {
  const fail = (rule: ConstructorParameters<typeof RoutingError>[0], what: string) =>
    new RoutingError(rule, what, index)
  switch (entry.type) {
    case 'irqchip': {
      if (o.irqchip === 'split') {
        return fail('irqchip-split', 'irqchip routes are rejected with a split irqchip')
      }
      const { irqchip, pin } = entry
      if (irqchip === KVM_IRQCHIP_PIC_MASTER || irqchip === KVM_IRQCHIP_PIC_SLAVE) {
        if (pin >= PIC_PINS) return fail('irqchip-pin', `PIC pin ${pin} is not below ${PIC_PINS}`)
      } else if (irqchip === KVM_IRQCHIP_IOAPIC) {
        if (pin >= IOAPIC_PINS) {
          return fail('irqchip-pin', `IOAPIC pin ${pin} is not below ${IOAPIC_PINS}`)
        }
      } else {
        return fail(
          'irqchip-id',
          `irqchip ${irqchip} is not PIC master (0), slave (1) or IOAPIC (2)`,
        )
      }
      return undefined
    }
    case 'msi':
      // kvm_set_irq_routing checks flags before anything else of the entry
      if (entry.devid !== undefined && !o.msiDevid) {
        return fail('msi-devid', 'devid (KVM_MSI_VALID_DEVID) needs KVM_CAP_MSI_DEVID')
      }
      if (o.x2apicFormat && (entry.addressHi & 0xff) !== 0) {
        return fail(
          'msi-x2apic-address-hi',
          `address_hi 0x${entry.addressHi.toString(16)} has low byte set with 32-bit x2APIC IDs`,
        )
      }
      return undefined
    case 'hvSint':
      return undefined
    case 'xenEvtchn':
      if (o.xenPortLimit !== 'any' && entry.port >= o.xenPortLimit) {
        return fail('xen-port-range', `port ${entry.port} is not below ${o.xenPortLimit}`)
      }
      if ((entry.priority ?? KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL) !== 0xffff_ffff) {
        return fail(
          'xen-priority',
          `priority ${entry.priority} is not KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL (0xffffffff)`,
        )
      }
      return undefined
    case 's390Adapter':
      return fail('type-unsupported', 'S390_ADAPTER routes are rejected on x86')
  }
}

/**
 * setup_routing_entry's sharing rule: `entry` may join the routes already accepted on its GSI only
 * if all of them (and it) are irqchip routes on different chips.
 */
export function sharedGsiError(
  entry: RoutingEntry,
  index: number | undefined,
  onGsi: readonly AcceptedRoute[],
): RoutingError | undefined {
  for (const prior of onGsi) {
    const p = prior.entry
    if (p.type !== 'irqchip' || entry.type !== 'irqchip' || p.irqchip === entry.irqchip) {
      const why =
        p.type === 'irqchip' && entry.type === 'irqchip'
          ? `a second route to irqchip ${entry.irqchip}`
          : 'a GSI with a non-irqchip route carries no other route'
      return new RoutingError(
        'gsi-shared',
        `GSI ${entry.gsi} is already routed${prior.index === undefined ? '' : ` by entry ${prior.index}`}: ${why}`,
        index,
      )
    }
  }
  return undefined
}

/**
 * The first reason KVM_SET_GSI_ROUTING would reject `entries` on x86, or undefined when it
 * accepts them. Never throws for a bad table (only for bad options).
 */
export function checkRouting(
  entries: readonly RoutingEntry[],
  options: ValidateOptions = {},
): RoutingError | undefined {
  const o = resolveValidateOptions(options)
  const notTable = tableShapeError(entries)
  if (notTable) return notTable
  for (let i = 0; i < entries.length; i++) {
    const shape = entryShapeError(entries[i], i)
    if (shape) return shape
  }
  if (entries.length > o.maxRoutes) {
    return new RoutingError(
      'table-size',
      `${entries.length} entries, the limit is ${o.maxRoutes} (KVM_CAP_IRQ_ROUTING)`,
    )
  }
  for (let i = 0; i < entries.length; i++) {
    const gsi = (entries[i] as RoutingEntry).gsi
    if (gsi >= o.maxRoutes) {
      return new RoutingError('gsi-range', `gsi ${gsi} is not below ${o.maxRoutes}`, i)
    }
  }
  const byGsi = new Map<number, AcceptedRoute[]>()
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as RoutingEntry
    // The flags check comes first in the kernel, before the GSI-sharing check.
    if (entry.type === 'msi' && entry.devid !== undefined && !o.msiDevid) {
      return entryRuleError(entry, i, o)
    }
    const onGsi = byGsi.get(entry.gsi)
    const error = (onGsi && sharedGsiError(entry, i, onGsi)) || entryRuleError(entry, i, o)
    if (error) return error
    if (onGsi) onGsi.push({ entry, index: i })
    else byGsi.set(entry.gsi, [{ entry, index: i }])
  }
  return undefined
}

/**
 * Throws the first RoutingError KVM_SET_GSI_ROUTING would answer for `entries` on x86 (see
 * `checkRouting`); returns normally when KVM would accept the table.
 */
export function validateRouting(
  entries: readonly RoutingEntry[],
  options: ValidateOptions = {},
): void {
  const error = checkRouting(entries, options)
  if (error) throw error
}
