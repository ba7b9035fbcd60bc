// Guest physical memory: a set of non-overlapping regions, each backed by a Uint8Array over any
// buffer (plain, SharedArrayBuffer, or the external ArrayBuffer kvm-sys maps for the VM). Every
// access is bounds-checked against one region before any byte moves.
import { describe, GuestMemoryError, type GuestMemoryFault } from './errors.js'

/** One range of guest RAM: `bytes[i]` is the byte at guest physical address `gpa + i`. */
export interface GuestMemoryRegion {
  /** Guest physical address of `bytes[0]`. */
  readonly gpa: number
  /** The backing bytes; the region is `bytes.length` long. */
  readonly bytes: Uint8Array
}

// 2^53: the end of the address space numbers can represent exactly.
const ADDRESS_LIMIT = Number.MAX_SAFE_INTEGER + 1
const U64_LIMIT = 1n << 64n

// Int32Array lanes are host-endian; guest memory is x86, little-endian. Refuse to run lane
// atomics on a big-endian host rather than flip every bit number.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

class Region {
  readonly end: number
  readonly view: DataView
  /** Lanes covering the region's 4-aligned GPAs, or null if the buffer offset cannot align. */
  readonly lanes: Int32Array | null
  /** GPA of `lanes[0]`. */
  readonly laneGpa: number

  constructor(
    readonly gpa: number,
    readonly bytes: Uint8Array,
  ) {
    this.end = gpa + bytes.length
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
    const first = Math.ceil(gpa / 4) * 4
    const skip = first - gpa
    const count = Math.max(0, Math.floor((bytes.length - skip) / 4))
    // A lane at a 4-aligned GPA needs a 4-aligned offset in the buffer too.
    this.lanes =
      HOST_LITTLE_ENDIAN && (bytes.byteOffset + skip) % 4 === 0 && count > 0
        ? new Int32Array(bytes.buffer, bytes.byteOffset + skip, count)
        : null
    this.laneGpa = first
  }
}

function isAddress(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0
}

// The brand check behind `Object.prototype.toString` for typed arrays: true only for a real
// Uint8Array (or Buffer), also from another realm, never for an object that merely inherits
// Uint8Array.prototype or a proxy of one.
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)?.get as (this: unknown) => string | undefined

function isUint8Array(v: unknown): v is Uint8Array {
  return typedArrayTag.call(v) === 'Uint8Array'
}

function badRegion(gpa: unknown, length: unknown, why: string): GuestMemoryError {
  return new GuestMemoryError(
    typeof gpa === 'number' ? gpa : Number.NaN,
    typeof length === 'number' ? length : 0,
    'invalid-region',
    why,
  )
}

// Reads one region's fields once (a getter could answer differently the second time).
function regionOf(r: unknown): Region | null {
  if (r === null || typeof r !== 'object')
    throw badRegion(Number.NaN, 0, `${describe(r)} is not a region`)
  const { gpa, bytes } = r as { gpa: unknown; bytes: unknown }
  if (!isUint8Array(bytes)) throw badRegion(gpa, 0, 'bytes must be a Uint8Array')
  if (typeof gpa !== 'number' || !isAddress(gpa) || bytes.length > ADDRESS_LIMIT - gpa)
    throw badRegion(gpa, bytes.length, 'the region is outside the addressable range')
  return bytes.length > 0 ? new Region(gpa, bytes) : null
}

/**
 * Guest physical memory made of regions. Reads and writes are bounds-checked: an access outside
 * guest RAM, or one that runs off the end of a region, throws {@link GuestMemoryError} and touches
 * nothing. Multi-byte values are little-endian (x86). Atomic operations work on naturally aligned
 * 32-bit lanes with `Atomics`, so they are correct against other threads (a guest vCPU, a worker)
 * writing the same words when the backing buffer is shared.
 *
 * @example
 * const ram = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(new SharedArrayBuffer(0x10000)) }])
 * ram.writeU32(0x1000, 0xdeadbeef)
 * ram.readU64(0x1000) // 0xdeadbeefn
 * ram.testAndSetBit(0x2000, 70) // false: bit 6 of byte 0x2008 was clear, now set
 */
export class GuestMemory {
  readonly #regions: Region[]
  #last: Region | undefined

  /**
   * @param regions guest RAM ranges, in any order. Each `bytes` must be a Uint8Array, `gpa` and
   *   `gpa + bytes.length` safe integers, and regions may not overlap; anything else throws
   *   GuestMemoryError with fault `invalid-region`. Empty regions are ignored.
   */
  constructor(regions: Iterable<GuestMemoryRegion>) {
    const sorted: Region[] = []
    if (
      regions === null ||
      typeof (regions as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function'
    )
      throw badRegion(Number.NaN, 0, 'regions must be an iterable of { gpa, bytes }')
    for (const r of regions as Iterable<unknown>) {
      const region = regionOf(r)
      if (region !== null) sorted.push(region)
    }
    sorted.sort((a, b) => a.gpa - b.gpa)
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1] as Region
      const cur = sorted[i] as Region
      if (cur.gpa < prev.end)
        throw badRegion(
          cur.gpa,
          cur.bytes.length,
          `it overlaps region 0x${prev.gpa.toString(16)}-0x${prev.end.toString(16)}`,
        )
    }
    this.#regions = sorted
  }

  /** The regions, sorted by guest physical address. */
  get regions(): readonly GuestMemoryRegion[] {
    return this.#regions.map((r) => ({ gpa: r.gpa, bytes: r.bytes }))
  }

  /** Whether `[gpa, gpa + length)` lies inside one region (so an access there would succeed). */
  contains(gpa: number, length = 1): boolean {
    return this.#find(gpa, length) !== undefined
  }

  /** A view (no copy) of `length` bytes at `gpa`; writes through it reach guest memory. */
  bytes(gpa: number, length: number): Uint8Array {
    const r = this.#region(gpa, length)
    const off = r.bytes.byteOffset + (gpa - r.gpa)
    return new Uint8Array(r.bytes.buffer, off, length)
  }

  /** A copy of `length` bytes at `gpa`. */
  read(gpa: number, length: number): Uint8Array {
    return this.bytes(gpa, length).slice()
  }

  /** Copies `target.length` bytes at `gpa` into `target` (a Uint8Array). */
  readInto(gpa: number, target: Uint8Array): void {
    checkBuffer(gpa, target, 'target')
    target.set(this.bytes(gpa, target.length))
  }

  /** Copies `data` (a Uint8Array) into guest memory at `gpa`. */
  write(gpa: number, data: Uint8Array): void {
    checkBuffer(gpa, data, 'data')
    this.bytes(gpa, data.length).set(data)
  }

  /** Sets `length` bytes at `gpa` to the byte `value` (0-255). */
  fill(gpa: number, length: number, value = 0): void {
    checkUint(gpa, length, value, 0xff)
    this.bytes(gpa, length).fill(value)
  }

  /** The byte at `gpa`. */
  readU8(gpa: number): number {
    const r = this.#region(gpa, 1)
    return r.view.getUint8(gpa - r.gpa)
  }

  /** The little-endian u16 at `gpa`. */
  readU16(gpa: number): number {
    const r = this.#region(gpa, 2)
    return r.view.getUint16(gpa - r.gpa, true)
  }

  /** The little-endian u32 at `gpa`, as an unsigned number. */
  readU32(gpa: number): number {
    const r = this.#region(gpa, 4)
    return r.view.getUint32(gpa - r.gpa, true)
  }

  /** The little-endian u64 at `gpa`. */
  readU64(gpa: number): bigint {
    const r = this.#region(gpa, 8)
    return r.view.getBigUint64(gpa - r.gpa, true)
  }

  /** Writes the byte `value` (0-255) at `gpa`. */
  writeU8(gpa: number, value: number): void {
    checkUint(gpa, 1, value, 0xff)
    const r = this.#region(gpa, 1)
    r.view.setUint8(gpa - r.gpa, value)
  }

  /** Writes `value` (0-0xffff) as a little-endian u16 at `gpa`. */
  writeU16(gpa: number, value: number): void {
    checkUint(gpa, 2, value, 0xffff)
    const r = this.#region(gpa, 2)
    r.view.setUint16(gpa - r.gpa, value, true)
  }

  /** Writes `value` (0-0xffffffff) as a little-endian u32 at `gpa`. */
  writeU32(gpa: number, value: number): void {
    checkUint(gpa, 4, value, 0xffff_ffff)
    const r = this.#region(gpa, 4)
    r.view.setUint32(gpa - r.gpa, value, true)
  }

  /** Writes `value` (0 to 2^64-1) as a little-endian u64 at `gpa`. */
  writeU64(gpa: number, value: bigint): void {
    if (typeof value !== 'bigint' || value < 0n || value >= U64_LIMIT)
      throw new GuestMemoryError(gpa, 8, 'invalid-value', `${describe(value)} is not a u64 bigint`)
    const r = this.#region(gpa, 8)
    r.view.setBigUint64(gpa - r.gpa, value, true)
  }

  /**
   * The 32-bit lanes of `[gpa, gpa + byteLength)` as an `Int32Array` sharing guest memory, for
   * hot paths that check bounds once and then use `Atomics` with no lookups. `gpa` and
   * `byteLength` must be multiples of 4 and the range inside one region.
   */
  lanes(gpa: number, byteLength: number): Int32Array {
    const r = this.#region(gpa, byteLength)
    if (gpa % 4 !== 0 || byteLength % 4 !== 0 || r.lanes === null)
      throw new GuestMemoryError(gpa, byteLength, 'unaligned')
    const start = r.lanes.byteOffset + (gpa - r.laneGpa)
    return new Int32Array(r.lanes.buffer, start, byteLength / 4)
  }

  /** Atomically reads the u32 lane at 4-aligned `gpa`. */
  atomicLoad32(gpa: number): number {
    const r = this.#lane(gpa)
    return Atomics.load(r.lanes as Int32Array, (gpa - r.laneGpa) >> 2) >>> 0
  }

  /** Atomically writes the u32 lane at 4-aligned `gpa`. */
  atomicStore32(gpa: number, value: number): void {
    checkUint(gpa, 4, value, 0xffff_ffff)
    const r = this.#lane(gpa)
    Atomics.store(r.lanes as Int32Array, (gpa - r.laneGpa) >> 2, value | 0)
  }

  /** Atomically replaces the u32 lane at 4-aligned `gpa` with `value`; returns the old value. */
  atomicExchange32(gpa: number, value: number): number {
    checkUint(gpa, 4, value, 0xffff_ffff)
    const r = this.#lane(gpa)
    return Atomics.exchange(r.lanes as Int32Array, (gpa - r.laneGpa) >> 2, value | 0) >>> 0
  }

  /** Atomically ORs `bits` into the u32 lane at 4-aligned `gpa`; returns the old value. */
  atomicOr32(gpa: number, bits: number): number {
    checkUint(gpa, 4, bits, 0xffff_ffff)
    const r = this.#lane(gpa)
    return Atomics.or(r.lanes as Int32Array, (gpa - r.laneGpa) >> 2, bits | 0) >>> 0
  }

  /** Atomically ANDs `bits` into the u32 lane at 4-aligned `gpa`; returns the old value. */
  atomicAnd32(gpa: number, bits: number): number {
    checkUint(gpa, 4, bits, 0xffff_ffff)
    const r = this.#lane(gpa)
    return Atomics.and(r.lanes as Int32Array, (gpa - r.laneGpa) >> 2, bits | 0) >>> 0
  }

  /**
   * Atomically sets bit `bit` of the little-endian bitmap at `gpa` (byte `gpa + bit/8`, bit
   * `bit % 8`, as Xen's bitmaps are laid out) and returns whether it was already set.
   */
  testAndSetBit(gpa: number, bit: number): boolean {
    const [r, index, mask] = this.#bit(gpa, bit)
    return (Atomics.or(r.lanes as Int32Array, index, mask) & mask) !== 0
  }

  /** Atomically clears bit `bit` of the bitmap at `gpa`; returns whether it was set. */
  testAndClearBit(gpa: number, bit: number): boolean {
    const [r, index, mask] = this.#bit(gpa, bit)
    return (Atomics.and(r.lanes as Int32Array, index, ~mask) & mask) !== 0
  }

  /** Atomically reads bit `bit` of the bitmap at `gpa`. */
  testBit(gpa: number, bit: number): boolean {
    const [r, index, mask] = this.#bit(gpa, bit)
    return (Atomics.load(r.lanes as Int32Array, index) & mask) !== 0
  }

  // Lane index and mask of a bitmap bit. The 4-aligned lane holding the bit's byte must exist:
  // a bit in the last bytes of an unaligned region end has no lane and is refused.
  #bit(gpa: number, bit: number): [Region, number, number] {
    if (!isAddress(bit) || !isAddress(gpa)) throw new GuestMemoryError(gpa, 1, 'invalid-address')
    const byte = gpa + Math.floor(bit / 8)
    const laneAt = byte - (byte % 4)
    const r = this.#find(byte, 1)
    if (r === undefined) throw new GuestMemoryError(byte, 1, this.#fault(byte, 1))
    if (r.lanes === null || laneAt < r.laneGpa || laneAt + 4 > r.laneGpa + r.lanes.length * 4)
      throw new GuestMemoryError(byte, 1, 'unaligned')
    return [r, (laneAt - r.laneGpa) >> 2, 1 << (((byte % 4) << 3) | (bit % 8))]
  }

  #lane(gpa: number): Region {
    const r = this.#region(gpa, 4)
    if (gpa % 4 !== 0 || r.lanes === null) throw new GuestMemoryError(gpa, 4, 'unaligned')
    return r
  }

  #region(gpa: number, length: number): Region {
    const r = this.#find(gpa, length)
    if (r !== undefined) return r
    throw new GuestMemoryError(gpa, length, this.#fault(gpa, length))
  }

  #find(gpa: number, length: number): Region | undefined {
    if (!isAddress(gpa) || !isAddress(length) || length > ADDRESS_LIMIT - gpa) return undefined
    let r = this.#last
    if (r === undefined || gpa < r.gpa || gpa >= r.end) {
      r = this.#containing(gpa)
      if (r === undefined) return undefined
      this.#last = r
    }
    // A detached buffer (kvm-sys removed the region or closed the VM) reads as length 0.
    return gpa + length <= r.end && r.bytes.byteLength !== 0 ? r : undefined
  }

  #containing(gpa: number): Region | undefined {
    const rs = this.#regions
    let lo = 0
    let hi = rs.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const r = rs[mid] as Region
      if (gpa < r.gpa) hi = mid - 1
      else if (gpa >= r.end) lo = mid + 1
      else return r
    }
    return undefined
  }

  #fault(gpa: number, length: number): GuestMemoryFault {
    if (!isAddress(gpa) || !isAddress(length) || length > ADDRESS_LIMIT - gpa)
      return 'invalid-address'
    const r = this.#containing(gpa)
    if (r === undefined) return 'unmapped'
    return r.bytes.byteLength === 0 ? 'detached' : 'crosses-region'
  }
}

function checkUint(gpa: number, length: number, value: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
    throw new GuestMemoryError(
      gpa,
      length,
      'invalid-value',
      `${describe(value)} is not in 0..${max}`,
    )
}

function checkBuffer(gpa: number, b: unknown, what: string): asserts b is Uint8Array {
  if (!isUint8Array(b))
    throw new GuestMemoryError(gpa, 0, 'invalid-value', `${what} must be a Uint8Array`)
}
