// A Linux bzImage as the x86 boot protocol describes it (Documentation/arch/x86/boot.rst): the
// setup header at 0x1f1, the real-mode setup sectors, then the protected-mode payload. tsvmm uses
// the 64-bit entry (protocol >= 2.12, XLF_KERNEL_64): the payload is loaded at its preferred
// address and entered at +0x200 in long mode, as rust-vmm's linux-loader and Firecracker do.
// Every field the loader relies on is checked, so a bad image is one line and exit 2.
import { VmmError } from '../errors.js'

/** Setup header offsets inside the image (and inside boot_params, which embeds it at 0x1f1). */
export const SETUP = {
  setup_sects: 0x1f1,
  syssize: 0x1f4,
  vid_mode: 0x1fa,
  boot_flag: 0x1fe,
  jump: 0x200,
  header: 0x202,
  version: 0x206,
  type_of_loader: 0x210,
  loadflags: 0x211,
  code32_start: 0x214,
  ramdisk_image: 0x218,
  ramdisk_size: 0x21c,
  heap_end_ptr: 0x224,
  cmd_line_ptr: 0x228,
  initrd_addr_max: 0x22c,
  kernel_alignment: 0x230,
  relocatable_kernel: 0x234,
  xloadflags: 0x236,
  cmdline_size: 0x238,
  payload_offset: 0x248,
  payload_length: 0x24c,
  pref_address: 0x258,
  init_size: 0x260,
  /** The first byte past the 2.12 fields this loader reads. */
  end212: 0x264,
} as const

/** "HdrS". */
export const HDRS_MAGIC = 0x53726448
/** 0xAA55 at 0x1fe. */
export const BOOT_FLAG = 0xaa55
/** Protocol 2.12: xloadflags, the 64-bit entry this loader needs. */
export const MIN_PROTOCOL = 0x020c
/** loadflags.LOADED_HIGH: the protected-mode code goes at 0x100000 or above. */
export const LOADED_HIGH = 1 << 0
/** xloadflags.XLF_KERNEL_64: the kernel has the 64-bit entry at +0x200. */
export const XLF_KERNEL_64 = 1 << 0
/** The 64-bit entry point, relative to where the payload is loaded. */
export const ENTRY_64_OFFSET = 0x200

/** A bzImage that the boot protocol rejects. */
export class BzImageError extends VmmError {
  constructor(
    /** The setup header field that is wrong (or 'file'). */
    readonly field: string,
    message: string,
  ) {
    super('image', `not a bootable bzImage: ${message}`)
  }
}

/** What the loader needs from a checked bzImage. */
export interface BzImage {
  /** Boot protocol version, major << 8 | minor. */
  protocol: number
  /** The setup header bytes to copy into boot_params at 0x1f1 (0x1f1 .. 0x202 + image[0x201]). */
  setupHeader: Uint8Array
  /** The protected-mode payload (everything after the setup sectors). */
  payload: Uint8Array
  /** Where the payload wants to be (pref_address). */
  preferredAddress: number
  /** How much memory from the load address the kernel uses while it decompresses and runs. */
  initSize: number
  /** Alignment a relocated kernel needs. */
  kernelAlignment: number
  /** The highest address the initrd may occupy (inclusive). */
  initrdAddrMax: number
  /** The longest command line, without its NUL. */
  cmdlineSize: number
}

/** Parses and checks a bzImage. Throws {@link BzImageError} (exit 2) on anything wrong. */
export function parseBzImage(image: Uint8Array): BzImage {
  const fail = (field: string, message: string): never => {
    throw new BzImageError(field, message)
  }
  if (image.length < SETUP.end212 + 4)
    fail('file', `${image.length} bytes is too short for a setup header`)
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength)
  const u8 = (o: number) => v.getUint8(o)
  const u16 = (o: number) => v.getUint16(o, true)
  const u32 = (o: number) => v.getUint32(o, true)
  if (u16(SETUP.boot_flag) !== BOOT_FLAG)
    fail('boot_flag', `boot_flag is 0x${u16(SETUP.boot_flag).toString(16)}, not 0xaa55`)
  if (u32(SETUP.header) !== HDRS_MAGIC) fail('header', 'no "HdrS" magic at 0x202')
  const protocol = u16(SETUP.version)
  if (protocol < MIN_PROTOCOL)
    fail(
      'version',
      `boot protocol ${protocol >> 8}.${protocol & 0xff} is older than 2.12 (no 64-bit entry)`,
    )
  const headerEnd = 0x202 + u8(0x201)
  if (headerEnd < SETUP.end212)
    fail('jump', `the setup header ends at 0x${headerEnd.toString(16)}, before its 2.12 fields`)
  // setup_sects 0 means 4 (boot.rst: "for backwards compatibility").
  const sects = u8(SETUP.setup_sects) || 4
  const setupBytes = (sects + 1) * 512
  if (setupBytes < headerEnd || setupBytes >= image.length)
    fail('setup_sects', `${sects} setup sectors do not fit a ${image.length}-byte image`)
  const payload = image.subarray(setupBytes)
  // syssize counts 16-byte paragraphs of the payload; signed images carry more bytes after it.
  const sys = u32(SETUP.syssize) * 16
  if (sys === 0 || sys > payload.length)
    fail('syssize', `syssize says ${sys} payload bytes, the image has ${payload.length}`)
  if ((u8(SETUP.loadflags) & LOADED_HIGH) === 0)
    fail('loadflags', 'LOADED_HIGH is clear (a zImage loads at 0x10000)')
  const xlf = u16(SETUP.xloadflags)
  if ((xlf & XLF_KERNEL_64) === 0) fail('xloadflags', 'XLF_KERNEL_64 is clear: no 64-bit entry')
  const kernelAlignment = u32(SETUP.kernel_alignment)
  if (kernelAlignment < 4096 || (kernelAlignment & (kernelAlignment - 1)) !== 0)
    fail(
      'kernel_alignment',
      `kernel_alignment 0x${kernelAlignment.toString(16)} is not a power of two >= 4 KiB`,
    )
  const pref = v.getBigUint64(SETUP.pref_address, true)
  if (pref < 0x100000n || pref > 0xffff_ffffn || pref % BigInt(kernelAlignment) !== 0n)
    fail(
      'pref_address',
      `pref_address 0x${pref.toString(16)} is not an aligned address in 1 MiB .. 4 GiB`,
    )
  const initSize = u32(SETUP.init_size)
  if (initSize < sys) fail('init_size', `init_size ${initSize} is smaller than the payload`)
  const pOff = u32(SETUP.payload_offset)
  const pLen = u32(SETUP.payload_length)
  if (pLen === 0 || pOff + pLen > sys)
    fail('payload_offset', 'the compressed kernel (payload_offset/length) is outside the payload')
  const cmdlineSize = u32(SETUP.cmdline_size)
  if (cmdlineSize < 1) fail('cmdline_size', 'cmdline_size is 0')
  const initrdAddrMax = u32(SETUP.initrd_addr_max)
  if (initrdAddrMax < 0x100000) fail('initrd_addr_max', 'initrd_addr_max is below 1 MiB')
  return {
    protocol,
    setupHeader: image.slice(SETUP.setup_sects, headerEnd),
    payload: payload.subarray(0, sys),
    preferredAddress: Number(pref),
    initSize,
    kernelAlignment,
    initrdAddrMax,
    cmdlineSize,
  }
}

/** Whether the file starts like a bzImage (for choosing the loader; parseBzImage checks it all). */
export function looksLikeBzImage(head: Uint8Array): boolean {
  if (head.length < 0x206) return false
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength)
  return v.getUint32(SETUP.header, true) === HDRS_MAGIC
}
