// The guest image loader: a static x86 ELF (ELFCLASS64 + EM_X86_64 or ELFCLASS32 + EM_386),
// whose PT_LOAD segments go to guest RAM at their physical addresses. Every header field is
// bounds-checked; a malformed image is a VmmError naming the bad field, never a crash.
import { readFileSync, statSync } from 'node:fs'
import { VmmError } from '../errors.js'

/** One PT_LOAD segment: `data` goes at `gpa`, the rest of `memSize` is zero. */
export interface ImageSegment {
  readonly gpa: number
  readonly data: Uint8Array
  readonly memSize: number
  readonly executable: boolean
}

/** A parsed guest image. */
export interface GuestImage {
  /** 64: entered in long mode; 32: entered in 32-bit protected mode. */
  readonly width: 64 | 32
  /** Entry point (e_entry). */
  readonly entry: number
  readonly segments: readonly ImageSegment[]
  /** First guest physical address above every segment. */
  readonly end: number
}

const PT_LOAD = 1
const PF_X = 1
const EM_386 = 3
const EM_X86_64 = 62
const ET_EXEC = 2
/** Largest image file read (a demo guest is tens of KiB). */
export const MAX_IMAGE_BYTES = 256 * 1024 * 1024
const MAX_PHNUM = 64

/** Parses an ELF guest image from its bytes. `name` is used in error messages. */
export function parseElf(bytes: Uint8Array, name: string): GuestImage {
  const fail = (what: string, hint?: string) =>
    new VmmError('image', `image ${name}: ${what}`, hint)
  if (bytes.length < 52) throw fail(`too short for an ELF header (${bytes.length} bytes)`)
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46)
    throw fail(
      'not an ELF file (bad magic)',
      'tsvmm boots ELF images such as tools/guests/build/*.elf',
    )
  const cls = bytes[4]
  if (cls !== 1 && cls !== 2) throw fail(`unknown ELF class ${cls}`)
  if (bytes[5] !== 1) throw fail('not little-endian (EI_DATA)')
  if (bytes[6] !== 1) throw fail(`unknown ELF version ${bytes[6]}`)
  const is64 = cls === 2
  if (is64 && bytes.length < 64) throw fail(`too short for an ELF64 header (${bytes.length} bytes)`)
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const u16 = (o: number) => v.getUint16(o, true)
  const u32 = (o: number) => v.getUint32(o, true)
  const word = (o: number): number => {
    if (!is64) return u32(o)
    const big = v.getBigUint64(o, true)
    if (big > BigInt(Number.MAX_SAFE_INTEGER))
      throw fail(`value 0x${big.toString(16)} at offset ${o} is too large`)
    return Number(big)
  }
  const type = u16(16)
  if (type !== ET_EXEC) throw fail(`e_type ${type} is not ET_EXEC (a static, non-PIE executable)`)
  const machine = u16(18)
  const wantMachine = is64 ? EM_X86_64 : EM_386
  if (machine !== wantMachine)
    throw fail(`e_machine ${machine} is not ${is64 ? 'EM_X86_64 (62)' : 'EM_386 (3)'}`)
  const entry = word(24)
  const phoff = word(is64 ? 32 : 28)
  const phentsize = u16(is64 ? 54 : 42)
  const phnum = u16(is64 ? 56 : 44)
  const wantEnt = is64 ? 56 : 32
  if (phentsize !== wantEnt) throw fail(`e_phentsize ${phentsize} is not ${wantEnt}`)
  if (phnum === 0 || phnum > MAX_PHNUM) throw fail(`e_phnum ${phnum} is not within 1..${MAX_PHNUM}`)
  if (phoff + phnum * phentsize > bytes.length)
    throw fail(`program headers (e_phoff ${phoff}, ${phnum} entries) run past the end of the file`)

  const segments: ImageSegment[] = []
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize
    if (u32(o) !== PT_LOAD) continue
    const flags = is64 ? u32(o + 4) : u32(o + 24)
    const offset = word(is64 ? o + 8 : o + 4)
    const paddr = word(is64 ? o + 24 : o + 12)
    const filesz = word(is64 ? o + 32 : o + 16)
    const memsz = word(is64 ? o + 40 : o + 20)
    const at = `segment ${i} (PT_LOAD at 0x${paddr.toString(16)})`
    if (filesz > memsz) throw fail(`${at}: p_filesz ${filesz} is larger than p_memsz ${memsz}`)
    if (offset + filesz > bytes.length)
      throw fail(`${at}: its file bytes run past the end of the file`)
    if (memsz === 0) continue
    if (paddr + memsz > 2 ** 32) throw fail(`${at}: ends above 4 GiB`)
    segments.push({
      gpa: paddr,
      data: bytes.subarray(offset, offset + filesz),
      memSize: memsz,
      executable: (flags & PF_X) !== 0,
    })
  }
  if (segments.length === 0) throw fail('no PT_LOAD segment to load')
  segments.sort((a, b) => a.gpa - b.gpa)
  for (let i = 1; i < segments.length; i++) {
    const p = segments[i - 1] as ImageSegment
    const s = segments[i] as ImageSegment
    if (s.gpa < p.gpa + p.memSize)
      throw fail(`segments at 0x${p.gpa.toString(16)} and 0x${s.gpa.toString(16)} overlap`)
  }
  if (!segments.some((s) => s.executable && entry >= s.gpa && entry < s.gpa + s.memSize))
    throw fail(`entry point 0x${entry.toString(16)} is not inside an executable segment`)
  const last = segments[segments.length - 1] as ImageSegment
  return { width: is64 ? 64 : 32, entry, segments, end: last.gpa + last.memSize }
}

/** Reads and parses an image file. */
export function loadElfFile(path: string): GuestImage {
  let size: number
  try {
    const st = statSync(path)
    if (!st.isFile()) throw new VmmError('image', `image ${path}: not a regular file`)
    size = st.size
  } catch (e) {
    if (e instanceof VmmError) throw e
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
    throw new VmmError(
      'image',
      `image ${path}: cannot open it (${code})`,
      code === 'ENOENT' ? 'build the guests with `pnpm build` (tools/guests/build)' : undefined,
    )
  }
  if (size > MAX_IMAGE_BYTES)
    throw new VmmError('image', `image ${path}: larger than ${MAX_IMAGE_BYTES} bytes`)
  let bytes: Uint8Array
  try {
    bytes = readFileSync(path)
  } catch (e) {
    throw new VmmError(
      'image',
      `image ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`,
    )
  }
  return parseElf(bytes, path)
}

/**
 * Checks that the image fits guest RAM and stays out of the VMM's boot area below `reservedEnd`.
 */
export function checkImageFits(
  image: GuestImage,
  name: string,
  ramBytes: number,
  reservedEnd: number,
): void {
  for (const s of image.segments) {
    if (s.gpa < reservedEnd)
      throw new VmmError(
        'image',
        `image ${name}: segment at 0x${s.gpa.toString(16)} overlaps tsvmm's boot area (below 0x${reservedEnd.toString(16)})`,
        'link the guest at 1 MiB like tools/guests/src/guest.ld',
      )
  }
  if (image.end > ramBytes)
    throw new VmmError(
      'image',
      `image ${name}: needs memory up to 0x${image.end.toString(16)} but the VM has ${ramBytes / 1048576} MiB`,
      'give the VM more memory with --memory',
    )
}
