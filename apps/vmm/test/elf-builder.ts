// A test helper that writes small ELF images, valid or broken on purpose.

/** One PT_LOAD segment of a test image. */
export interface TestSegment {
  paddr: number
  data: Uint8Array
  memsz?: number
  flags?: number
}

/** Options of {@link buildElf}; every header field can be overridden to break it. */
export interface TestElf {
  cls?: 1 | 2
  machine?: number
  type?: number
  entry?: number
  segments?: TestSegment[]
  phentsize?: number
  phnum?: number
}

/** Builds an ELF32 or ELF64 executable image. */
export function buildElf(o: TestElf = {}): Uint8Array {
  const is64 = (o.cls ?? 2) === 2
  const ehsize = is64 ? 64 : 52
  const phent = is64 ? 56 : 32
  const segs = o.segments ?? [{ paddr: 0x100000, data: new Uint8Array([0xf4]), flags: 5 }]
  const phoff = ehsize
  let dataOff = phoff + phent * segs.length
  const offsets = segs.map((s) => {
    const at = dataOff
    dataOff += s.data.length
    return at
  })
  const out = new Uint8Array(dataOff)
  const v = new DataView(out.buffer)
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, 1, 1], 0)
  v.setUint16(16, o.type ?? 2, true)
  v.setUint16(18, o.machine ?? (is64 ? 62 : 3), true)
  v.setUint32(20, 1, true)
  const entry = o.entry ?? segs[0]?.paddr ?? 0
  if (is64) {
    v.setBigUint64(24, BigInt(entry), true)
    v.setBigUint64(32, BigInt(phoff), true)
    v.setUint16(52, ehsize, true)
    v.setUint16(54, o.phentsize ?? phent, true)
    v.setUint16(56, o.phnum ?? segs.length, true)
  } else {
    v.setUint32(24, entry, true)
    v.setUint32(28, phoff, true)
    v.setUint16(40, ehsize, true)
    v.setUint16(42, o.phentsize ?? phent, true)
    v.setUint16(44, o.phnum ?? segs.length, true)
  }
  segs.forEach((s, i) => {
    const p = phoff + i * phent
    const memsz = s.memsz ?? s.data.length
    v.setUint32(p, 1, true)
    if (is64) {
      v.setUint32(p + 4, s.flags ?? 5, true)
      v.setBigUint64(p + 8, BigInt(offsets[i] ?? 0), true)
      v.setBigUint64(p + 16, BigInt(s.paddr), true)
      v.setBigUint64(p + 24, BigInt(s.paddr), true)
      v.setBigUint64(p + 32, BigInt(s.data.length), true)
      v.setBigUint64(p + 40, BigInt(memsz), true)
    } else {
      v.setUint32(p + 4, offsets[i] ?? 0, true)
      v.setUint32(p + 8, s.paddr, true)
      v.setUint32(p + 12, s.paddr, true)
      v.setUint32(p + 16, s.data.length, true)
      v.setUint32(p + 20, memsz, true)
      v.setUint32(p + 24, s.flags ?? 5, true)
    }
    out.set(s.data, offsets[i] ?? 0)
  })
  return out
}
