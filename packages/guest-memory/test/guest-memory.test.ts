import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { GuestMemory, GuestMemoryError } from '../src/index.js'

function twoRegions() {
  // [0x1000, 0x2000) and [0x3000, 0x3100): a hole between them and above 0x3100.
  const low = new Uint8Array(0x1000)
  const high = new Uint8Array(new SharedArrayBuffer(0x100))
  return {
    mem: new GuestMemory([
      { gpa: 0x3000, bytes: high },
      { gpa: 0x1000, bytes: low },
    ]),
    low,
    high,
  }
}

function fault(f: () => unknown): GuestMemoryError {
  try {
    f()
  } catch (e) {
    if (e instanceof GuestMemoryError) return e
    throw e
  }
  throw new Error('expected a GuestMemoryError')
}

describe('regions', () => {
  it('sorts regions and maps each GPA to its own bytes', () => {
    const { mem, low, high } = twoRegions()
    expect(mem.regions.map((r) => r.gpa)).toEqual([0x1000, 0x3000])
    mem.writeU8(0x1000, 1)
    mem.writeU8(0x3000, 2)
    expect(low[0]).toBe(1)
    expect(high[0]).toBe(2)
  })

  it('rejects overlapping regions', () => {
    const a = { gpa: 0x1000, bytes: new Uint8Array(0x1000) }
    const b = { gpa: 0x1fff, bytes: new Uint8Array(0x10) }
    expect(fault(() => new GuestMemory([a, b]))).toMatchObject({
      fault: 'invalid-region',
      code: 'EINVAL',
      errno: -22,
    })
    expect(() => new GuestMemory([b, a])).toThrow(/overlaps/)
    // Touching is not overlapping.
    expect(() => new GuestMemory([a, { gpa: 0x2000, bytes: new Uint8Array(1) }])).not.toThrow()
  })

  it('rejects regions outside the safe-integer address space', () => {
    for (const gpa of [-1, 0.5, Number.MAX_SAFE_INTEGER])
      expect(fault(() => new GuestMemory([{ gpa, bytes: new Uint8Array(2) }])).fault).toBe(
        'invalid-region',
      )
  })

  it('works over a sub-array of a larger buffer', () => {
    const buf = new ArrayBuffer(64)
    const mem = new GuestMemory([{ gpa: 0x100, bytes: new Uint8Array(buf, 16, 32) }])
    mem.writeU32(0x104, 0x11223344)
    expect(new DataView(buf).getUint32(20, true)).toBe(0x11223344)
    expect(mem.testAndSetBit(0x100, 33)).toBe(false)
    expect(new Uint8Array(buf)[20]).toBe(0x44 | 0x02)
  })
})

describe('bounds', () => {
  it('throws GuestMemoryError with address and length for a hole', () => {
    const { mem } = twoRegions()
    const e = fault(() => mem.read(0x2000, 4))
    expect(e.gpa).toBe(0x2000)
    expect(e.length).toBe(4)
    expect(e.fault).toBe('unmapped')
    expect(e.code).toBe('EFAULT')
    expect(e.errno).toBe(-14)
    expect(e.message).toContain('0x2000')
  })

  it('refuses an access that runs off the end of a region and writes nothing', () => {
    const { mem, low } = twoRegions()
    const e = fault(() => mem.write(0x1ffe, new Uint8Array([1, 2, 3, 4])))
    expect(e.fault).toBe('crosses-region')
    expect(e.gpa).toBe(0x1ffe)
    expect(e.length).toBe(4)
    expect(low[0xffe]).toBe(0)
    expect(low[0xfff]).toBe(0)
    expect(() => mem.readU64(0x1ff9)).toThrow(GuestMemoryError)
    expect(mem.readU64(0x1ff8)).toBe(0n)
  })

  it('never joins adjacent regions', () => {
    const mem = new GuestMemory([
      { gpa: 0, bytes: new Uint8Array(8) },
      { gpa: 8, bytes: new Uint8Array(8) },
    ])
    expect(fault(() => mem.readU32(6)).fault).toBe('crosses-region')
    expect(mem.contains(0, 8)).toBe(true)
    expect(mem.contains(4, 8)).toBe(false)
  })

  it('refuses negative, fractional and unsafe addresses and lengths', () => {
    const { mem } = twoRegions()
    for (const gpa of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(fault(() => mem.readU8(gpa)).fault).toBe('invalid-address')
      expect(mem.contains(gpa)).toBe(false)
    }
    expect(fault(() => mem.read(0x1000, -1)).fault).toBe('invalid-address')
    expect(fault(() => mem.testAndSetBit(0x1000, -1)).fault).toBe('invalid-address')
  })

  it('checks every typed accessor', () => {
    const { mem } = twoRegions()
    const end = 0x3100
    expect(() => mem.readU8(end)).toThrow(GuestMemoryError)
    expect(() => mem.readU16(end - 1)).toThrow(GuestMemoryError)
    expect(() => mem.readU32(end - 3)).toThrow(GuestMemoryError)
    expect(() => mem.readU64(end - 7)).toThrow(GuestMemoryError)
    expect(() => mem.writeU8(end, 0)).toThrow(GuestMemoryError)
    expect(() => mem.writeU16(end - 1, 0)).toThrow(GuestMemoryError)
    expect(() => mem.writeU32(end - 3, 0)).toThrow(GuestMemoryError)
    expect(() => mem.writeU64(end - 7, 0n)).toThrow(GuestMemoryError)
    expect(() => mem.fill(end - 1, 2)).toThrow(GuestMemoryError)
    expect(() => mem.readInto(end - 1, new Uint8Array(2))).toThrow(GuestMemoryError)
    expect(() => mem.atomicOr32(end, 1)).toThrow(GuestMemoryError)
    expect(() => mem.testAndSetBit(end - 1, 8)).toThrow(GuestMemoryError)
    expect(() => mem.lanes(end - 4, 8)).toThrow(GuestMemoryError)
  })

  it('never touches memory outside the access (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x0f00, max: 0x3200 }),
        fc.integer({ min: 0, max: 0x120 }),
        (gpa, length) => {
          const { mem, low, high } = twoRegions()
          const inside = mem.contains(gpa, length)
          let threw = false
          try {
            mem.fill(gpa, length, 0xaa)
          } catch (e) {
            expect(e).toBeInstanceOf(GuestMemoryError)
            threw = true
          }
          expect(threw).toBe(!inside)
          const written =
            low.reduce((n, b) => n + (b ? 1 : 0), 0) + high.reduce((n, b) => n + (b ? 1 : 0), 0)
          expect(written).toBe(inside ? length : 0)
        },
      ),
    )
  })
})

describe('little-endian values', () => {
  it('reads and writes u8/u16/u32/u64 little-endian', () => {
    const { mem, low } = twoRegions()
    mem.writeU64(0x1010, 0x0102030405060708n)
    expect([...low.subarray(0x10, 0x18)]).toEqual([8, 7, 6, 5, 4, 3, 2, 1])
    expect(mem.readU8(0x1010)).toBe(8)
    expect(mem.readU16(0x1010)).toBe(0x0708)
    expect(mem.readU32(0x1011)).toBe(0x04050607)
    expect(mem.readU64(0x1010)).toBe(0x0102030405060708n)
    mem.writeU32(0x1020, 0xffffffff)
    expect(mem.readU32(0x1020)).toBe(0xffffffff)
    mem.writeU16(0x1030, 0xbeef)
    expect(low[0x30]).toBe(0xef)
    mem.writeU64(0x1040, 0xffff_ffff_ffff_ffffn)
    expect(mem.readU64(0x1040)).toBe(0xffff_ffff_ffff_ffffn)
  })

  it('rejects values that do not fit', () => {
    const { mem } = twoRegions()
    expect(fault(() => mem.writeU8(0x1000, 256)).fault).toBe('invalid-value')
    expect(fault(() => mem.writeU16(0x1000, -1)).fault).toBe('invalid-value')
    expect(fault(() => mem.writeU32(0x1000, 2 ** 32)).fault).toBe('invalid-value')
    expect(fault(() => mem.writeU32(0x1000, 1.5)).fault).toBe('invalid-value')
    expect(fault(() => mem.writeU64(0x1000, 1n << 64n)).fault).toBe('invalid-value')
    expect(fault(() => mem.writeU64(0x1000, -1n)).fault).toBe('invalid-value')
  })

  it('bytes() is a live view, read() a copy', () => {
    const { mem, low } = twoRegions()
    const view = mem.bytes(0x1100, 4)
    const copy = mem.read(0x1100, 4)
    view[0] = 9
    expect(low[0x100]).toBe(9)
    expect(copy[0]).toBe(0)
    const into = new Uint8Array(2)
    mem.readInto(0x1100, into)
    expect([...into]).toEqual([9, 0])
  })
})

describe('atomics', () => {
  it('test-and-set and test-and-clear bits of a Xen-style bitmap', () => {
    const { mem, low } = twoRegions()
    expect(mem.testAndSetBit(0x1800, 0)).toBe(false)
    expect(mem.testAndSetBit(0x1800, 0)).toBe(true)
    expect(mem.testAndSetBit(0x1800, 4095)).toBe(false)
    expect(low[0x800 + 511]).toBe(0x80)
    expect(mem.testBit(0x1800, 4095)).toBe(true)
    expect(mem.testAndClearBit(0x1800, 4095)).toBe(true)
    expect(mem.testAndClearBit(0x1800, 4095)).toBe(false)
    expect(low[0x800 + 511]).toBe(0)
    expect(low[0x800]).toBe(1)
  })

  it('bit numbers are byte-linear from any base, aligned or not', () => {
    const { mem, low } = twoRegions()
    mem.testAndSetBit(0x1001, 9) // byte 0x1002, bit 1
    expect(low[2]).toBe(2)
    mem.testAndSetBit(0x1003, 7) // byte 0x1003, bit 7: top bit of the lane at 0x1000
    expect(low[3]).toBe(0x80)
    expect(mem.atomicLoad32(0x1000)).toBe(0x80020000)
  })

  it('OR, AND, exchange, load and store return unsigned old values', () => {
    const { mem } = twoRegions()
    expect(mem.atomicOr32(0x3004, 0x80000001)).toBe(0)
    expect(mem.atomicOr32(0x3004, 2)).toBe(0x80000001)
    expect(mem.atomicAnd32(0x3004, 0x7fffffff)).toBe(0x80000003)
    expect(mem.atomicLoad32(0x3004)).toBe(3)
    expect(mem.atomicExchange32(0x3004, 0xffffffff)).toBe(3)
    mem.atomicStore32(0x3008, 0xfedcba98)
    expect(mem.readU32(0x3008)).toBe(0xfedcba98)
    expect(mem.readU32(0x3004)).toBe(0xffffffff)
  })

  it('refuses unaligned lanes', () => {
    const { mem } = twoRegions()
    expect(fault(() => mem.atomicOr32(0x1002, 1)).fault).toBe('unaligned')
    expect(fault(() => mem.lanes(0x1002, 4)).fault).toBe('unaligned')
    expect(fault(() => mem.lanes(0x1000, 6)).fault).toBe('unaligned')
    // A region whose buffer offset cannot line up with its GPA has no lanes at all.
    const odd = new GuestMemory([
      { gpa: 0x1000, bytes: new Uint8Array(new ArrayBuffer(32), 1, 16) },
    ])
    expect(odd.readU32(0x1004)).toBe(0)
    expect(fault(() => odd.atomicOr32(0x1004, 1)).fault).toBe('unaligned')
    expect(fault(() => odd.testAndSetBit(0x1000, 0)).fault).toBe('unaligned')
  })

  it('refuses a bit whose lane would leave the region', () => {
    // Region [0x1001, 0x1007): the lane at 0x1000 starts before it, the one at 0x1004 ends after.
    const mem = new GuestMemory([{ gpa: 0x1001, bytes: new Uint8Array(new ArrayBuffer(16), 1, 6) }])
    expect(fault(() => mem.testAndSetBit(0x1001, 0)).fault).toBe('unaligned')
    expect(fault(() => mem.testAndSetBit(0x1006, 0)).fault).toBe('unaligned')
    expect(fault(() => mem.testAndSetBit(0x1007, 0)).fault).toBe('unmapped')
  })

  it('lanes() shares memory and indexes little-endian u32s', () => {
    const { mem, low } = twoRegions()
    const lanes = mem.lanes(0x1800, 0x200)
    expect(lanes.length).toBe(0x80)
    Atomics.or(lanes, 1, 1 << 3)
    expect(low[0x804]).toBe(8)
    expect(mem.testBit(0x1800, 35)).toBe(true)
  })
})
