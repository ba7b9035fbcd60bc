// HVM parameters (HVMOP_set_param / HVMOP_get_param, xen/arch/x86/hvm/hvm.c) as an HVM guest
// sees them: every parameter below HVM_NR_PARAMS exists and an unset one reads 0 (Linux's
// xenbus_init relies on that: STORE_PFN 0 means "no xenstore", not an error), and the guest may
// set only HVM_PARAM_CALLBACK_IRQ. That one takes the vector type (delivered) and the GSI and
// PCI INTx types, which are stored but never delivered through while per-vCPU upcall vectors are
// in use, as QEMU does: Linux sets "GSI 1" after HVMOP_set_evtchn_upcall_vector only to look
// enlightened to the toolstack (xen_set_upcall_vector), and an -EINVAL there wedges vCPU 0.

/** HVM_NR_PARAMS (xen/include/public/hvm/params.h). */
export const HVM_NR_PARAMS = 39
/** HVM_PARAM_CALLBACK_IRQ. */
export const HVM_PARAM_CALLBACK_IRQ = 0
/**
 * The toolstack's parameters an HVM guest reads to find its PV devices (hvm/params.h): the
 * xenstore ring's page frame and event channel port, and the console's.
 */
export const HVM_PARAM_PV = {
  STORE_PFN: 1,
  STORE_EVTCHN: 2,
  CONSOLE_PFN: 17,
  CONSOLE_EVTCHN: 18,
} as const
/** HVM_PARAM_CALLBACK_TYPE_* in bits 63:56 of the CALLBACK_IRQ value. */
export const CALLBACK_TYPE = { GSI: 0n, PCI_INTX: 1n, VECTOR: 2n } as const

const EINVAL = 22
const EPERM = 1

/** What setting CALLBACK_IRQ asks the machine to do. */
export type CallbackVia =
  | { type: 'off' }
  | { type: 'vector'; vector: number }
  /** Stored for get_param; nothing is delivered through it. */
  | { type: 'gsi'; gsi: number }
  | { type: 'pci-intx'; domain: number; bus: number; device: number; pin: number }

/** Decodes a CALLBACK_IRQ value, or returns a negative errno for one Xen refuses. */
export function decodeCallbackVia(value: bigint): CallbackVia | number {
  if (value === 0n) return { type: 'off' }
  const type = value >> 56n
  switch (type) {
    case CALLBACK_TYPE.VECTOR: {
      const vector = Number(value & 0xffn)
      return vector < 0x10 ? -EINVAL : { type: 'vector', vector }
    }
    case CALLBACK_TYPE.GSI: {
      const gsi = value & 0xffff_ffffn
      // hvm_set_callback_via: a GSI the domain's IOAPICs do not have is refused.
      return gsi >= 48n ? -EINVAL : { type: 'gsi', gsi: Number(gsi) }
    }
    case CALLBACK_TYPE.PCI_INTX: {
      // domain << 32 | bus << 16 | devfn << 8 | intx (0..3)
      const pin = Number(value & 3n)
      const device = Number((value >> 11n) & 0x1fn)
      const bus = Number((value >> 16n) & 0xffn)
      const domain = Number((value >> 32n) & 0xffffn)
      if (domain !== 0 || bus !== 0) return -EINVAL
      return { type: 'pci-intx', domain, bus, device, pin }
    }
    default:
      return -EINVAL
  }
}

/** One domain's HVM parameters. */
export class HvmParams {
  readonly #values = new Map<number, bigint>()

  /** HVMOP_get_param: the value, or a negative errno. */
  get(index: number): bigint | number {
    if (!Number.isInteger(index) || index < 0 || index >= HVM_NR_PARAMS) return -EINVAL
    return this.#values.get(index) ?? 0n
  }

  /**
   * HVMOP_set_param from the guest: the decoded callback for CALLBACK_IRQ (the caller applies
   * it), or a negative errno. Other parameters belong to the toolstack: -EPERM.
   */
  set(index: number, value: bigint): CallbackVia | number {
    if (!Number.isInteger(index) || index < 0 || index >= HVM_NR_PARAMS) return -EINVAL
    if (index !== HVM_PARAM_CALLBACK_IRQ) return -EPERM
    const via = decodeCallbackVia(value)
    if (typeof via === 'number') return via
    this.#values.set(index, via.type === 'off' ? 0n : value)
    return via
  }

  /** Sets a parameter as the toolstack (the VMM) does, e.g. STORE_PFN. */
  preset(index: number, value: bigint): void {
    if (!Number.isInteger(index) || index < 0 || index >= HVM_NR_PARAMS)
      throw new RangeError(`HVM parameter ${index} does not exist`)
    this.#values.set(index, value)
  }
}
