// One domain's grant table, version 1, as an HVM guest sees it: GNTTABOP_query_size,
// setup_table, set_version and get_version (xen/common/grant_table.c, its compat twin
// xen/common/compat/grant_table.c, and hvm_grant_table_op in xen/arch/x86/hvm/hypercall.c), and
// XENMEM_add_to_physmap with XENMAPSPACE_grant_table (xenmem_add_to_physmap_one,
// gnttab_map_frame_begin). QEMU 10's emulation (hw/i386/kvm/xen_gnttab.c) was the second check.
//
// Where the frames live. Xen and QEMU keep the frames outside guest RAM and make frame i appear at
// whatever GFN the guest names; Linux as an HVM guest names pages of the Xen platform PCI device's
// BAR (platform_pci_probe: alloc_xen_mmio, gnttab_setup_auto_xlat_frames, then gnttab_map calls
// add_to_physmap for each frame, highest index first). tsvmm has no memory but guest RAM, so
// frame i is a fixed RAM page that the e820 map reserves (boot/e820.ts, after the console and
// xenstore pages), and add_to_physmap maps it only there: any other GFN is -EOPNOTSUPP, the
// errno tsvmm (and QEMU, for XENMAPSPACE_gmfn) gives for a mapping it cannot make. A platform
// device added later would put its BAR over these pages. Linux brings grant tables up only from
// that device's probe, so until tsvmm has one, Linux never makes these calls.
//
// Version 1 only: set_version(2) is -ENOSYS and reports 1, as Xen does for a domain created with
// max_grant_version 1 ("behave as before set_version was introduced") and QEMU always does.
//
// What a guest can make this hold: the number of frames in use (at most maxFrames) and which of
// them it mapped. tsvmm's domain has no snapshot yet; `state` is what one would save.
import type { GuestMemory } from '@tsvmm/guest-memory'
import {
  DOMID_BACKEND,
  DOMID_SELF,
  GNTST,
  GNTTAB_ARGS,
  GNTTAB_RESERVED,
  GNTTABOP,
  GTF,
  XenErrno,
} from '@tsvmm/xen-evtchn'
import type { GuestCopy } from './guest-copy.js'

const { EFAULT, EINVAL, ENOSYS, EOPNOTSUPP, EPERM, ESRCH } = XenErrno
const ERR = (e: number) => -e
const PAGE = 4096
/** INITIAL_NR_GRANT_FRAMES: a new domain's table has one frame (gnttab_grow_table). */
const INITIAL_FRAMES = 1
/** What setup_table reports for a frame not in the physmap: INVALID_M2P_ENTRY, Xen's ~0UL. */
const INVALID_GFN = 0xffff_ffff_ffff_ffffn
const V1 = GNTTAB_ARGS.grant_entry_v1

/** Where the table is and what the toolstack puts in it before the guest runs. */
export interface GrantTableOptions {
  readonly memory: GuestMemory
  /** Frame 0's page (page-aligned RAM, reserved in the e820 map); frame i is i pages above it. */
  readonly gpa: number
  /** The most frames the table may grow to (query_size's max_nr_frames). */
  readonly maxFrames: number
  /** This domain's id (what DOMID_SELF means). */
  readonly domid: number
  /**
   * The console and xenstore ring pages, granted to the backend domain in the reserved entries
   * GNTTAB_RESERVED_CONSOLE and _XENSTORE, as libxl's xc_dom_gnttab_seed and QEMU do.
   */
  readonly seed?: { readonly consoleGpa: number; readonly storeGpa: number }
}

/** What a guest has made the table hold. */
export interface GrantTableState {
  /** Frames in use (nr_grant_frames). */
  readonly frames: number
  /** The frames the guest mapped with add_to_physmap, ascending. */
  readonly mapped: readonly number[]
}

/** A version 1 grant table on reserved pages of guest RAM. */
export class GrantTable {
  readonly #memory: GuestMemory
  readonly #gpa: number
  readonly #maxFrames: number
  readonly #domid: number
  readonly #mapped = new Set<number>()
  #frames = INITIAL_FRAMES

  constructor(o: GrantTableOptions) {
    if (!Number.isInteger(o.maxFrames) || o.maxFrames < INITIAL_FRAMES || o.maxFrames > 1024)
      throw new RangeError(`a grant table of ${o.maxFrames} frames`)
    if (o.gpa % PAGE !== 0 || !o.memory.contains(o.gpa, o.maxFrames * PAGE))
      throw new RangeError(`the grant frames at 0x${o.gpa.toString(16)} are not pages of RAM`)
    this.#memory = o.memory
    this.#gpa = o.gpa
    this.#maxFrames = o.maxFrames
    this.#domid = o.domid
    // A new table is empty but for the toolstack's reserved entries (the pages may hold anything).
    o.memory.fill(o.gpa, o.maxFrames * PAGE, 0)
    if (o.seed !== undefined) {
      this.#seed(GNTTAB_RESERVED.CONSOLE, o.seed.consoleGpa)
      this.#seed(GNTTAB_RESERVED.XENSTORE, o.seed.storeGpa)
    }
  }

  #seed(ref: number, gpa: number): void {
    const at = this.#gpa + ref * V1.size
    this.#memory.writeU16(at + V1.domid, DOMID_BACKEND)
    this.#memory.writeU32(at + V1.frame, gpa / PAGE)
    this.#memory.writeU16(at + V1.flags, GTF.permit_access)
  }

  /** The GFN of frame `i`'s page. */
  #home(i: number): bigint {
    return BigInt(this.#gpa / PAGE + i)
  }

  get state(): GrantTableState {
    return { frames: this.#frames, mapped: [...this.#mapped].sort((a, b) => a - b) }
  }

  /**
   * XENMEM_add_to_physmap, XENMAPSPACE_grant_table: frame `idx` at `gpfn`; 0 or a negative errno.
   * As gnttab_get_shared_frame_mfn, mapping a frame past the end grows the table to it.
   */
  mapFrame(idx: bigint, gpfn: bigint): number {
    // Xen cannot grow past max_grant_frames: -EINVAL. Version 1 has no status frames, so
    // XENMAPIDX_grant_table_status is just a large index here too.
    if (idx >= BigInt(this.#maxFrames)) return ERR(EINVAL)
    const i = Number(idx)
    if (gpfn !== this.#home(i)) return ERR(EOPNOTSUPP)
    this.#mapped.add(i)
    this.#frames = Math.max(this.#frames, i + 1)
    return 0
  }

  /**
   * HYPERVISOR_grant_table_op(cmd, uop, count) for an HVM guest; what the guest gets in RAX.
   * `guest` reads and writes the calling vCPU's virtual addresses.
   */
  op(cmd: number, uop: bigint, count: number, guest: GuestCopy, longMode: boolean): number {
    // hvm_grant_table_op: commands outside its list (whole cmd, continuation bits too): -ENOSYS.
    switch (cmd) {
      case GNTTABOP.query_size:
      case GNTTABOP.setup_table:
      case GNTTABOP.set_version:
      case GNTTABOP.get_version:
        break
      default:
        // copy, map_grant_ref, unmap_grant_ref and swap_grant_ref are allowed by Xen but served
        // by no one here: no other domain grants this guest pages (QEMU also leaves them -ENOSYS).
        return ERR(ENOSYS)
    }
    // do_grant_table_op: count is an unsigned int that must be a non-negative int.
    if (count > 0x7fff_ffff) return ERR(EINVAL)
    switch (cmd) {
      case GNTTABOP.query_size:
        return this.#querySize(uop, count, guest)
      case GNTTABOP.setup_table:
        return this.#setupTable(uop, count, guest, longMode)
      case GNTTABOP.set_version:
        return this.#setVersion(uop, guest)
      default:
        return this.#getVersion(uop, guest)
    }
  }

  /**
   * The GNTST_* status for an operation on domain `dom` (rcu_lock_domain_by_any_id, then XSM):
   * the backend domain exists but a guest may not look at its table; any other domain does not.
   */
  #domainStatus(dom: number): number {
    if (dom === DOMID_SELF || dom === this.#domid) return GNTST.okay
    return dom === DOMID_BACKEND ? GNTST.permission_denied : GNTST.bad_domain
  }

  // gnttab_query_size: the whole struct goes back, status inside, and the call returns 0.
  #querySize(uop: bigint, count: number, guest: GuestCopy): number {
    if (count !== 1) return ERR(EINVAL)
    const L = GNTTAB_ARGS.query_size
    const a = guest.read(uop, L.size)
    if (a === null) return ERR(EFAULT)
    const out = new DataView(a.buffer.slice(a.byteOffset, a.byteOffset + L.size))
    const status = this.#domainStatus(a.getUint16(L.dom, true))
    if (status === GNTST.okay) {
      out.setUint32(L.nr_frames, this.#frames, true)
      out.setUint32(L.max_nr_frames, this.#maxFrames, true)
    }
    out.setInt16(L.status, status, true)
    return guest.write(uop, new Uint8Array(out.buffer)) ? 0 : ERR(EFAULT)
  }

  // gnttab_setup_table (and its compat twin for a 32-bit guest): grows the table to nr_frames and
  // lists where each frame is mapped; only the status field goes back.
  #setupTable(uop: bigint, count: number, guest: GuestCopy, longMode: boolean): number {
    // compat_grant_table_op loops over count and does nothing for 0; the native call wants 1.
    if (!longMode && count === 0) return 0
    if (count !== 1) return ERR(EINVAL)
    const L = GNTTAB_ARGS.setup_table
    const a = guest.read(uop, longMode ? L.size64 : L.size32)
    if (a === null) return ERR(EFAULT)
    const nr = a.getUint32(L.nr_frames, true)
    const list = longMode
      ? a.getBigUint64(L.frame_list64, true)
      : BigInt(a.getUint32(L.frame_list32, true))
    // An HVM guest's handles are not checked up front (guest_handle_okay is always true for
    // it): a bad frame_list shows as GNTST_bad_virt_addr on the first frame that cannot be written.
    let status = this.#domainStatus(a.getUint16(L.dom, true))
    if (status === GNTST.okay && nr > this.#maxFrames) status = GNTST.general_error
    if (status === GNTST.okay) {
      this.#frames = Math.max(this.#frames, nr)
      status = this.#listFrames(list, nr, guest, longMode)
    }
    const s = new Uint8Array(2)
    new DataView(s.buffer).setInt16(0, status, true)
    return guest.write(uop + BigInt(L.status), s) ? 0 : ERR(EFAULT)
  }

  #listFrames(list: bigint, nr: number, guest: GuestCopy, longMode: boolean): number {
    const width = longMode ? 8 : 4
    const cell = new Uint8Array(width)
    const v = new DataView(cell.buffer)
    for (let i = 0; i < nr; i++) {
      const gfn = this.#mapped.has(i) ? this.#home(i) : INVALID_GFN
      if (longMode) v.setBigUint64(0, gfn, true)
      // The compat path refuses a GFN a 32-bit xen_pfn_t cannot hold (an unmapped frame's too).
      else if (gfn > 0xffff_ffffn) return GNTST.address_too_big
      else v.setUint32(0, Number(gfn), true)
      const at = BigInt.asUintN(longMode ? 64 : 32, list + BigInt(i * width))
      if (!guest.write(at, cell)) return GNTST.bad_virt_addr
    }
    return GNTST.okay
  }

  // gnttab_set_version: 1 is accepted, 2 is -ENOSYS, anything else -EINVAL; in every case the
  // version in force (1) is written back, and a failed write-back is -EFAULT.
  #setVersion(uop: bigint, guest: GuestCopy): number {
    const a = guest.read(uop, GNTTAB_ARGS.set_version.size)
    if (a === null) return ERR(EFAULT)
    const asked = a.getUint32(GNTTAB_ARGS.set_version.version, true)
    const rc = asked === 1 ? 0 : asked === 2 ? ERR(ENOSYS) : ERR(EINVAL)
    const out = new Uint8Array(4)
    new DataView(out.buffer).setUint32(0, 1, true)
    return guest.write(uop, out) ? rc : ERR(EFAULT)
  }

  // gnttab_get_version: -ESRCH for a domain that does not exist, the XSM refusal (-EPERM) for
  // the backend domain; only the version field goes back.
  #getVersion(uop: bigint, guest: GuestCopy): number {
    const L = GNTTAB_ARGS.get_version
    const a = guest.read(uop, L.size)
    if (a === null) return ERR(EFAULT)
    const status = this.#domainStatus(a.getUint16(L.dom, true))
    if (status === GNTST.bad_domain) return ERR(ESRCH)
    if (status === GNTST.permission_denied) return ERR(EPERM)
    const out = new Uint8Array(4)
    new DataView(out.buffer).setUint32(0, 1, true)
    return guest.write(uop + BigInt(L.version), out) ? 0 : ERR(EFAULT)
  }
}
