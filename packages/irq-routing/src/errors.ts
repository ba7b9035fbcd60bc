// The one error type of the package. Every rule violation carries the errno name KVM returns
// for it, the index of the offending entry and the rule's name, so a VMM can log and recover.

/** The errno names a routing operation can fail with (KVM's, or the table's own). */
export type RoutingErrorCode = 'EINVAL' | 'ENOSPC' | 'ENOENT' | 'EBUSY'

/**
 * Names of the rules a routing table or an encoded buffer can break. Each names one check of
 * the kernel (virt/kvm/irqchip.c, arch/x86/kvm/irq_comm.c, arch/x86/kvm/xen.c) or of the codec.
 */
export type RoutingRule =
  // table-wide (kvm_vm_ioctl KVM_SET_GSI_ROUTING, kvm_set_irq_routing)
  | 'table-size'
  | 'gsi-range'
  // per entry (setup_routing_entry, kvm_set_routing_entry)
  | 'msi-devid'
  | 'gsi-shared'
  | 'irqchip-split'
  | 'irqchip-id'
  | 'irqchip-pin'
  | 'msi-x2apic-address-hi'
  | 'xen-priority'
  | 'xen-port-range'
  | 'type-unsupported'
  // the model itself (values the struct cannot hold, malformed entries)
  | 'entry-shape'
  | 'field-range'
  // the codec (decodeRouting)
  | 'buffer-truncated'
  | 'nr-mismatch'
  | 'header-flags'
  | 'entry-type'
  | 'entry-flags'
  | 'reserved-bytes'
  // the table (RoutingTable)
  | 'gsi-exhausted'
  | 'gsi-unrouted'
  | 'irqfd-exists'
  | 'irqfd-unknown'
  | 'irqfd-fd'
  | 'options'

/** Linux errno numbers of the codes, negated as in Node's own errors (`err.errno`). */
const ERRNO: Record<RoutingErrorCode, number> = { EINVAL: -22, ENOSPC: -28, ENOENT: -2, EBUSY: -16 }

/** A routing table, entry or buffer that KVM (or the model) does not accept. */
export class RoutingError extends Error {
  /** Error.name: `'RoutingError'`, what stack traces and logs show. */
  override readonly name = 'RoutingError'
  /** The errno name KVM returns for this failure (`'EINVAL'` for every KVM routing rule). */
  readonly code: RoutingErrorCode
  /** The negative errno number of `code` (-22 for EINVAL), the sign Node's own errors use. */
  readonly errno: number
  /** Index of the offending entry in the table or buffer; undefined for table-wide failures. */
  readonly index: number | undefined
  /** The rule that failed. */
  readonly rule: RoutingRule

  /** `message` says what is wrong in words; it is prefixed with the rule name. */
  constructor(
    rule: RoutingRule,
    message: string,
    index?: number,
    code: RoutingErrorCode = 'EINVAL',
  ) {
    super(index === undefined ? `${rule}: ${message}` : `${rule}: entry ${index}: ${message}`)
    this.rule = rule
    this.index = index
    this.code = code
    this.errno = ERRNO[code]
  }
}
