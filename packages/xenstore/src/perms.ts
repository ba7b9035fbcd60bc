// Node permissions as xenstored keeps them: a list whose first entry names the owner (who
// always has full access) and the access of every domain not listed; later entries set the
// access of one domain each. Dom0 (the host side here) may do anything. The check is QEMU's
// can_access() (hw/i386/kvm/xenstore_impl.c), which is xenstored's perm_for_conn().

import { checkDomid, checkString } from './check.js'
import { XenstoreError } from './errors.js'

/** One permission entry: `n`one, `r`ead, `w`rite or `b`oth, for a domain. */
export interface XsPerm {
  /** The access letter, as on the wire. */
  readonly access: 'n' | 'r' | 'w' | 'b'
  /** The domain it applies to (the owner, for the first entry). */
  readonly domid: number
}

/** What an operation needs from a node. */
export type XsAccess = 'read' | 'write' | 'owner'

/** The highest domid a permission may name (domids are 16-bit). */
export const MAX_DOMID = 0xffff

const PERM = /^([nrwb])(0|[1-9][0-9]{0,4})$/

/** Parses a `<perm-as-string>` such as `r1`; `undefined` if malformed. */
export function parsePerm(s: string): XsPerm | undefined {
  checkString(s, 'perm', 'parse-perm')
  const m = PERM.exec(s)
  if (!m) return undefined
  const domid = Number(m[2])
  if (domid > MAX_DOMID) return undefined
  return { access: m[1] as XsPerm['access'], domid }
}

/** The wire form of a permission entry, e.g. `b0`. */
export function formatPerm(p: XsPerm): string {
  const s = typeof p === 'object' && p !== null ? `${p.access}${p.domid}` : ''
  if (parsePerm(s) === undefined)
    throw new XenstoreError('EINVAL', 'format-perm', `not a permission: ${JSON.stringify(p)}`)
  return s
}

/**
 * Whether domain `domid` may do `want` on a node with permissions `perms` (never empty).
 * `owner` is what SET_PERMS needs: only the owner (or dom0) may change permissions.
 */
export function canAccess(domid: number, perms: readonly XsPerm[], want: XsAccess): boolean {
  checkDomid(domid, 'can-access')
  if (!Array.isArray(perms) || perms.length === 0)
    throw new XenstoreError('EINVAL', 'can-access', 'perms must be a non-empty array')
  if (want !== 'read' && want !== 'write' && want !== 'owner')
    throw new XenstoreError('EINVAL', 'can-access', `want must be read, write or owner`)
  if (domid === 0) return true
  const owner = perms[0]
  if (owner === undefined) return false
  if (owner.domid === domid) return true
  if (want === 'owner') return false
  // The first entry's letter is everybody's default; a later entry for the domain overrides it.
  let letter = owner.access
  for (let i = 1; i < perms.length; i++) {
    const p = perms[i] as XsPerm
    if (p.domid === domid) letter = p.access
  }
  return letter === 'b' || letter === (want === 'read' ? 'r' : 'w')
}
