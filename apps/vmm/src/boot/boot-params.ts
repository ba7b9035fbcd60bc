// The zero page (struct boot_params, arch/x86/include/uapi/asm/bootparam.h) a 64-bit bzImage
// entry gets in RSI: the image's setup header, the command line and initrd, the e820 map and
// the RSDP address. type_of_loader must be non-zero: with 0 ("LILO") the kernel silently drops
// the initrd (boot.rst: a loader that is not assigned an id uses 0xff).
import { SETUP } from './bzimage.js'
import type { E820Entry } from './e820.js'

/** struct boot_params offsets. */
export const BOOT_PARAMS = {
  SIZE: 4096,
  acpi_rsdp_addr: 0x070,
  ext_ramdisk_image: 0x0c0,
  ext_ramdisk_size: 0x0c4,
  ext_cmd_line_ptr: 0x0c8,
  e820_entries: 0x1e8,
  /** Must be 0: a non-zero sentinel makes the kernel wipe fields a broken loader left. */
  sentinel: 0x1ef,
  hdr: SETUP.setup_sects,
  e820_table: 0x2d0,
  /** E820_MAX_ENTRIES_ZEROPAGE. */
  E820_MAX: 128,
  E820_ENTRY_SIZE: 20,
} as const

/** type_of_loader for a loader without an assigned id (boot.rst). */
export const LOADER_UNDEFINED = 0xff

/** What goes into boot_params besides the header. */
export interface BootParamsInput {
  /** The image's setup header (from 0x1f1), as parseBzImage returns it. */
  setupHeader: Uint8Array
  cmdlineGpa: number
  /** Command line length without the NUL. */
  cmdlineLength: number
  initrd?: { gpa: number; size: number }
  e820: readonly E820Entry[]
  rsdpGpa: number
}

/** Builds the 4 KiB zero page. */
export function bootParams(input: BootParamsInput): Uint8Array {
  const page = new Uint8Array(BOOT_PARAMS.SIZE)
  const v = new DataView(page.buffer)
  if (input.e820.length > BOOT_PARAMS.E820_MAX)
    throw new RangeError(`${input.e820.length} e820 entries do not fit the zero page`)
  page.set(input.setupHeader, BOOT_PARAMS.hdr)
  v.setUint8(SETUP.type_of_loader, LOADER_UNDEFINED)
  // vid_mode "normal": no video mode switch (there is no real-mode setup run anyway).
  v.setUint16(SETUP.vid_mode, 0xffff, true)
  const lo32 = (n: number) => n % 0x1_0000_0000
  const hi32 = (n: number) => Math.floor(n / 0x1_0000_0000)
  v.setUint32(SETUP.cmd_line_ptr, lo32(input.cmdlineGpa), true)
  v.setUint32(BOOT_PARAMS.ext_cmd_line_ptr, hi32(input.cmdlineGpa), true)
  if (input.initrd !== undefined) {
    v.setUint32(SETUP.ramdisk_image, lo32(input.initrd.gpa), true)
    v.setUint32(BOOT_PARAMS.ext_ramdisk_image, hi32(input.initrd.gpa), true)
    v.setUint32(SETUP.ramdisk_size, lo32(input.initrd.size), true)
    v.setUint32(BOOT_PARAMS.ext_ramdisk_size, hi32(input.initrd.size), true)
  }
  v.setBigUint64(BOOT_PARAMS.acpi_rsdp_addr, BigInt(input.rsdpGpa), true)
  v.setUint8(BOOT_PARAMS.e820_entries, input.e820.length)
  input.e820.forEach((e, i) => {
    const at = BOOT_PARAMS.e820_table + i * BOOT_PARAMS.E820_ENTRY_SIZE
    v.setBigUint64(at, BigInt(e.addr), true)
    v.setBigUint64(at + 8, BigInt(e.size), true)
    v.setUint32(at + 16, e.type, true)
  })
  v.setUint8(BOOT_PARAMS.sentinel, 0)
  return page
}
