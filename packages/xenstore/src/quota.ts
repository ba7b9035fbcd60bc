// Caps on what one guest can make the store hold, so a hostile guest cannot exhaust the VMM.
// The defaults are QEMU's (XS_MAX_* in hw/i386/kvm/xenstore_impl.c); the host side (dom0) is
// never capped, as in xenstored.

import { XenstoreError } from './errors.js'

/** Per-guest limits. Every field is a positive safe integer. */
export interface XenstoreQuotas {
  /** Nodes in the whole store past which a guest can create no more (ENOSPC). QEMU: 1000. */
  readonly maxNodes: number
  /** Watches the guest may hold (E2BIG past it, as xenstored). QEMU: 128. */
  readonly maxWatches: number
  /** Transactions the guest may have open (ENOSPC past it). QEMU: 10. */
  readonly maxTransactions: number
  /** Largest value a guest may write, in bytes (E2BIG past it). QEMU: 2048. */
  readonly maxValueSize: number
  /** Most permission entries a guest may set on a node (ENOSPC past it). QEMU: 5. */
  readonly maxPermsPerNode: number
  /**
   * Watch events queued for a guest that does not drain its ring; further events are dropped
   * and counted (xenstored's watch-event quota). Default 1024.
   */
  readonly maxPendingEvents: number
}

/** QEMU's caps, and a 1024-event queue. */
export const DEFAULT_QUOTAS: XenstoreQuotas = Object.freeze({
  maxNodes: 1000,
  maxWatches: 128,
  maxTransactions: 10,
  maxValueSize: 2048,
  maxPermsPerNode: 5,
  maxPendingEvents: 1024,
})

/** The defaults with `overrides` applied, each checked; a bad one throws `XenstoreError`. */
export function resolveQuotas(overrides: Partial<XenstoreQuotas> = {}): XenstoreQuotas {
  if (typeof overrides !== 'object' || overrides === null)
    throw new XenstoreError('EINVAL', 'quotas', 'quotas must be an object')
  const out: Record<string, number> = { ...DEFAULT_QUOTAS }
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in DEFAULT_QUOTAS))
      throw new XenstoreError('EINVAL', 'quotas', `unknown quota ${JSON.stringify(k)}`)
    if (!Number.isSafeInteger(v) || (v as number) < 1)
      throw new XenstoreError('EINVAL', 'quotas', `${k} must be a positive integer, got ${v}`)
    out[k] = v as number
  }
  return Object.freeze(out) as unknown as XenstoreQuotas
}
