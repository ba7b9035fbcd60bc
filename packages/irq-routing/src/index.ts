/**
 * The model of KVM's GSI routing table (struct kvm_irq_routing) for x86: entries, byte-exact
 * encode/decode, the kernel's validation rules, and a VMM's RoutingTable. Pure: loads no native
 * code; constants come from `@tsvmm/kvm-sys/abi`.
 *
 * @module
 */

export { decodeRouting, encodedSize, encodeRouting } from './codec.js'
export type {
  HvSintRoute,
  IrqchipRoute,
  MsiRoute,
  RoutingEntry,
  RoutingEntryType,
  S390AdapterRoute,
  XenEvtchnRoute,
} from './entry.js'
export { normalizeEntry } from './entry.js'
export { RoutingError, type RoutingErrorCode, type RoutingRule } from './errors.js'
export { defaultIrqchipRoutes, LEGACY_GSI_COUNT, PIC_GSI_COUNT } from './legacy.js'
export {
  type IrqfdRequest,
  type RoutingKernel,
  RoutingTable,
  type RoutingTableOptions,
} from './table.js'
export {
  checkRouting,
  IOAPIC_PINS,
  PIC_PINS,
  type ValidateOptions,
  validateRouting,
  XEN_2L_PORTS_32,
  XEN_2L_PORTS_64,
} from './validate.js'
