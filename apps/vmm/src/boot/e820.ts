// The guest's physical memory map (the BIOS e820 table Linux reads from boot_params): RAM below
// 640 KiB (Linux allocates its SMP trampoline there: reserve_real_mode), the legacy VGA/BIOS hole,
// RAM from 1 MiB, a hole under 4 GiB for the IOAPIC and local APIC, and the RAM that does not fit
// below it above 4 GiB. The ACPI tables sit in their own ACPI range in the BIOS area. The Xen
// special pages (the xenstore and console rings a toolstack gives an HVM guest through
// HVM_PARAM_STORE_PFN / CONSOLE_PFN) are the last pages of low RAM, marked reserved as Xen's
// hvmloader and QEMU's XEN_SPECIAL_AREA do: Linux must not allocate them, and it maps them with
// memremap, which refuses pages the e820 map calls RAM. The grant table frames follow them: Xen
// and QEMU keep those frames outside guest RAM and map them where the guest asks (Linux HVM asks
// for the Xen platform PCI device's BAR, drivers/xen/platform-pci.c); tsvmm has no memory but
// guest RAM, so the frames are RAM pages set aside here, each at a fixed place (xen/grant-table.ts).

/** e820 entry types (arch/x86/include/uapi/asm/setup_data.h, E820_TYPE_*). */
export const E820 = { RAM: 1, RESERVED: 2, ACPI: 3, NVS: 4 } as const

/** One e820 entry. */
export interface E820Entry {
  addr: number
  size: number
  type: number
}

/** The end of conventional memory; the EBDA's reserved KiB sits just below it. */
export const LOW_RAM_END = 0x9fc00
/** Start of the legacy VGA window and option ROMs; nothing is RAM from here to 1 MiB. */
export const LEGACY_HOLE = 0xa0000
/** Where the ACPI tables go (inside the legacy hole, where a BIOS puts them too). */
export const ACPI_AREA = { start: 0xe0000, size: 0x20000 } as const
/** 1 MiB. */
export const HIGH_RAM_START = 0x100000
/** Start of the 32-bit MMIO hole (IOAPIC at 0xfec00000, local APIC at 0xfee00000) below 4 GiB. */
export const MMIO_HOLE_START = 0xc0000000
/** 4 GiB. */
export const FOUR_GIB = 0x1_0000_0000

/**
 * The most grant table frames a domain may have: the default of Xen (opt_max_grant_frames) and of
 * QEMU's Xen emulation (xen-gnttab-max-frames), 512 version 1 entries each.
 */
export const XEN_GRANT_FRAMES = 64
/** The Xen special pages, in page order from the start of the area; the grant frames come last. */
export const XEN_SPECIAL_PAGE = { console: 0, store: 1, grantTable: 2 } as const
/** How many special pages there are. */
export const XEN_SPECIAL_PAGE_COUNT = 2 + XEN_GRANT_FRAMES

/** Where the Xen special pages of a VM of `ramBytes` are: the area, and each page's address. */
export function xenSpecialPages(ramBytes: number): {
  start: number
  size: number
  console: number
  store: number
  /** Grant frame 0; frame i is the page i * 4096 above it. */
  grantTable: number
} {
  const size = XEN_SPECIAL_PAGE_COUNT * 4096
  const start = Math.min(ramBytes, MMIO_HOLE_START) - size
  return {
    start,
    size,
    console: start + XEN_SPECIAL_PAGE.console * 4096,
    store: start + XEN_SPECIAL_PAGE.store * 4096,
    grantTable: start + XEN_SPECIAL_PAGE.grantTable * 4096,
  }
}

/** Where guest RAM lives for a VM of `ramBytes`: one or two ranges (memory slots). */
export function ramRanges(ramBytes: number): { gpa: number; size: number }[] {
  if (!Number.isSafeInteger(ramBytes) || ramBytes < 2 * HIGH_RAM_START)
    throw new RangeError(`guest RAM of ${ramBytes} bytes is too small (at least 2 MiB)`)
  if (ramBytes <= MMIO_HOLE_START) return [{ gpa: 0, size: ramBytes }]
  return [
    { gpa: 0, size: MMIO_HOLE_START },
    { gpa: FOUR_GIB, size: ramBytes - MMIO_HOLE_START },
  ]
}

/** The e820 table for a VM of `ramBytes`, sorted and non-overlapping. */
export function e820Table(ramBytes: number): E820Entry[] {
  const ranges = ramRanges(ramBytes)
  const special = xenSpecialPages(ramBytes)
  const out: E820Entry[] = [
    { addr: 0, size: LOW_RAM_END, type: E820.RAM },
    { addr: LOW_RAM_END, size: LEGACY_HOLE - LOW_RAM_END, type: E820.RESERVED },
    { addr: ACPI_AREA.start, size: ACPI_AREA.size, type: E820.ACPI },
    { addr: HIGH_RAM_START, size: special.start - HIGH_RAM_START, type: E820.RAM },
    { addr: special.start, size: special.size, type: E820.RESERVED },
  ]
  const high = ranges[1]
  if (high !== undefined) out.push({ addr: high.gpa, size: high.size, type: E820.RAM })
  return out
}

/** The highest address + 1 of usable RAM below 4 GiB (below the Xen special pages; for the initrd). */
export function lowRamTop(ramBytes: number): number {
  return xenSpecialPages(ramBytes).start
}
