// Xen's grant table numbers and layouts (xen/include/public/grant_table.h) that a VMM serving an
// HVM guest's GNTTABOP_query_size, setup_table, set_version and get_version needs; checked against
// the public headers by test/layout.test.ts, as layout.ts is.
/** `GNTTABOP_*` commands of HYPERVISOR_grant_table_op (grant_table.h). */
export const GNTTABOP = {
  /** Map another domain's granted page (struct gnttab_map_grant_ref). */ map_grant_ref: 0,
  /** Undo map_grant_ref. */ unmap_grant_ref: 1,
  /** Size the table and list its frames (struct gnttab_setup_table). */ setup_table: 2,
  /** Dump the table to Xen's console. */ dump_table: 3,
  /** Give a page to another domain (PV only). */ transfer: 4,
  /** Copy between granted pages (struct gnttab_copy). */ copy: 5,
  /** The table's current and largest size in frames (struct gnttab_query_size). */
  query_size: 6,
  /** Unmap and put another page in its place. */ unmap_and_replace: 7,
  /** Choose the grant entry layout, 1 or 2 (struct gnttab_set_version). */ set_version: 8,
  /** The version 2 status frames. */ get_status_frames: 9,
  /** The layout in use (struct gnttab_get_version). */ get_version: 10,
  /** Swap two grant entries. */ swap_grant_ref: 11,
  /** Flush the cache of granted pages (Arm). */ cache_flush: 12,
} as const

/** `GNTST_*`: the status a grant table operation writes into its argument (grant_table.h). */
export const GNTST = {
  /** Done. */ okay: 0,
  /** Anything else, e.g. more frames than the domain may have. */ general_error: -1,
  /** No such domain. */ bad_domain: -2,
  /** A grant reference that is not valid for the operation. */ bad_gntref: -3,
  /** A handle that is not valid. */ bad_handle: -4,
  /** An address the result cannot be written to. */ bad_virt_addr: -5,
  /** A device address that is not mapped. */ bad_dev_addr: -6,
  /** The IOMMU is full. */ no_device_space: -7,
  /** The caller may not do this to that domain. */ permission_denied: -8,
  /** A page that is not valid for the operation. */ bad_page: -9,
  /** Copy arguments that cross a page boundary. */ bad_copy_arg: -10,
  /** An address too large for the caller's ABI (a 32-bit guest's frame list). */
  address_too_big: -11,
  /** Not done; try again. */ eagain: -12,
  /** Out of space (handles). */ no_space: -13,
} as const

/** `GTF_*` flags of a grant entry (grant_table.h). */
export const GTF = {
  /** The entry lets its domid map or access its frame. */ permit_access: 1,
} as const

/** Reserved grant entries (grant_table.h): the toolstack fills the first ones before the guest runs. */
export const GNTTAB_RESERVED = {
  /** Entries 0 to 7 survive version changes and may be pre-filled by the toolstack. */
  NR_ENTRIES: 8,
  /** The entry granting the console ring to its backend. */ CONSOLE: 0,
  /** The entry granting the xenstore ring to its backend. */ XENSTORE: 1,
} as const

/**
 * Argument layouts of the grant table operations an HVM guest makes, and of a version 1 entry.
 * setup_table's frame_list is a guest handle of xen_pfn_t: 8 bytes for a 64-bit guest, 4 for a
 * 32-bit one, and the struct shrinks with it.
 */
export const GNTTAB_ARGS = {
  /** struct gnttab_setup_table. */
  setup_table: {
    /** sizeof for a 64-bit guest. */ size64: 24,
    /** sizeof for a 32-bit guest. */ size32: 16,
    /** domid_t: the domain (DOMID_SELF). */ dom: 0,
    /** u32: how many frames to list (and to grow the table to). */ nr_frames: 4,
    /** i16 out: a GNTST_* status. */ status: 8,
    /** Guest handle of xen_pfn_t, 64-bit guest. */ frame_list64: 16,
    /** Guest handle of xen_pfn_t, 32-bit guest. */ frame_list32: 12,
  },
  /** struct gnttab_query_size (the same in both ABIs). */
  query_size: {
    /** sizeof. */ size: 16,
    /** domid_t: the domain. */ dom: 0,
    /** u32 out: frames in use. */ nr_frames: 4,
    /** u32 out: the most frames the table may grow to. */ max_nr_frames: 8,
    /** i16 out: a GNTST_* status. */ status: 12,
  },
  /** struct gnttab_set_version: u32 version, in and out. */
  set_version: {
    /** sizeof. */ size: 4,
    /** u32: the layout version asked for, and the one in use. */ version: 0,
  },
  /** struct gnttab_get_version. */
  get_version: {
    /** sizeof. */ size: 8,
    /** domid_t: the domain. */ dom: 0,
    /** u32 out: the layout version. */ version: 4,
  },
  /** struct grant_entry_v1: one grant, 8 bytes (512 in a 4 KiB frame). */
  grant_entry_v1: {
    /** sizeof. */ size: 8,
    /** u16: GTF_* type and flags. */ flags: 0,
    /** domid_t: the domain granted access. */ domid: 2,
    /** u32: the granted frame (a GFN for an HVM guest). */ frame: 4,
  },
} as const
