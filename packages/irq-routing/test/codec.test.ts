import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeRouting,
  encodedSize,
  encodeRouting,
  normalizeEntry,
  type RoutingEntry,
  RoutingError,
  validateRouting,
} from '../src/index.js'
import { anyTable, validTable } from './arbitraries.js'

const words = (bytes: Uint8Array) => {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return Array.from({ length: bytes.byteLength / 4 }, (_, i) => v.getUint32(i * 4, true))
}
/** The 12 words of entry `i` of an encoded table. */
const entryWords = (bytes: Uint8Array, i: number) => words(bytes).slice(2 + 12 * i, 14 + 12 * i)

function thrown(f: () => unknown): RoutingError {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(RoutingError)
    return error as RoutingError
  }
  throw new Error('expected a RoutingError')
}

describe('encodeRouting', () => {
  it('writes the header {nr, flags: 0} and nothing else for an empty table', () => {
    const bytes = encodeRouting([])
    expect(bytes.byteLength).toBe(8)
    expect(words(bytes)).toEqual([0, 0])
  })

  it('sizes the table 8 + 48 * nr', () => {
    expect(encodedSize(0)).toBe(8)
    expect(encodedSize(4096)).toBe(8 + 48 * 4096)
  })

  it('lays out an irqchip route as gsi, type 1, flags 0, pad, {irqchip, pin}', () => {
    const bytes = encodeRouting([{ gsi: 9, type: 'irqchip', irqchip: 2, pin: 9 }])
    expect(words(bytes).slice(0, 2)).toEqual([1, 0])
    expect(entryWords(bytes, 0)).toEqual([9, 1, 0, 0, 2, 9, 0, 0, 0, 0, 0, 0])
  })

  it('lays out an MSI route, flags 0 and pad 0 without devid', () => {
    const e: RoutingEntry = {
      gsi: 30,
      type: 'msi',
      addressLo: 0xfee0_1000,
      addressHi: 5,
      data: 0x4041,
    }
    expect(entryWords(encodeRouting([e]), 0)).toEqual([
      30, 2, 0, 0, 0xfee0_1000, 5, 0x4041, 0, 0, 0, 0, 0,
    ])
  })

  it('sets KVM_MSI_VALID_DEVID exactly when devid is present (devid 0 included)', () => {
    const e: RoutingEntry = { gsi: 1, type: 'msi', addressLo: 1, addressHi: 2, data: 3, devid: 0 }
    expect(entryWords(encodeRouting([e]), 0)).toEqual([1, 2, 1, 0, 1, 2, 3, 0, 0, 0, 0, 0])
    const f: RoutingEntry = { ...e, devid: 0xabcd }
    expect(entryWords(encodeRouting([f]), 0)).toEqual([1, 2, 1, 0, 1, 2, 3, 0xabcd, 0, 0, 0, 0])
  })

  it('lays out an s390 adapter route with three little-endian u64s', () => {
    const e: RoutingEntry = {
      gsi: 3,
      type: 's390Adapter',
      indAddr: 0x1122_3344_5566_7788n,
      summaryAddr: 0xffff_ffff_ffff_ffffn,
      indOffset: 0x1_0000_0000n,
      summaryOffset: 77,
      adapterId: 88,
    }
    expect(entryWords(encodeRouting([e]), 0)).toEqual([
      3, 3, 0, 0, 0x5566_7788, 0x1122_3344, 0xffff_ffff, 0xffff_ffff, 0, 1, 77, 88,
    ])
  })

  it('lays out an HV_SINT route as {vcpu, sint}', () => {
    const bytes = encodeRouting([{ gsi: 4095, type: 'hvSint', vcpu: 3, sint: 2 }])
    expect(entryWords(bytes, 0)).toEqual([4095, 4, 0, 0, 3, 2, 0, 0, 0, 0, 0, 0])
  })

  it('lays out a Xen route as {port, vcpu, priority}, priority defaulting to 2LEVEL', () => {
    const bytes = encodeRouting([
      { gsi: 40, type: 'xenEvtchn', port: 3, vcpu: 1 },
      { gsi: 41, type: 'xenEvtchn', port: 4, vcpu: 0, priority: 16 },
    ])
    expect(entryWords(bytes, 0)).toEqual([40, 5, 0, 0, 3, 1, 0xffff_ffff, 0, 0, 0, 0, 0])
    expect(entryWords(bytes, 1)).toEqual([41, 5, 0, 0, 4, 0, 16, 0, 0, 0, 0, 0])
  })

  it('encodes into a caller buffer and returns a view of exactly the table', () => {
    const into = new Uint8Array(1000)
    const out = encodeRouting([{ gsi: 1, type: 'hvSint', vcpu: 0, sint: 1 }], into)
    expect(out.buffer).toBe(into.buffer)
    expect(out.byteOffset).toBe(0)
    expect(out.byteLength).toBe(56)
  })

  it('zeroes every unused byte when it reuses a buffer full of garbage', () => {
    const table: RoutingEntry[] = [
      { gsi: 1, type: 'irqchip', irqchip: 0, pin: 1 },
      { gsi: 2, type: 'msi', addressLo: 1, addressHi: 0, data: 2 },
      { gsi: 3, type: 'hvSint', vcpu: 0, sint: 1 },
      { gsi: 4, type: 'xenEvtchn', port: 9, vcpu: 0 },
    ]
    const into = new Uint8Array(encodedSize(4)).fill(0xa5)
    expect(encodeRouting(table, into)).toEqual(encodeRouting(table))
  })

  it('encodes into an unaligned view the same bytes as into a fresh buffer', () => {
    const table: RoutingEntry[] = [
      { gsi: 7, type: 'msi', addressLo: 0xfee0_0000, addressHi: 0, data: 33 },
    ]
    const backing = new Uint8Array(encodedSize(1) + 3).fill(0xff)
    const view = backing.subarray(1, 1 + encodedSize(1))
    const out = encodeRouting(table, view)
    expect(out.byteOffset).toBe(1)
    expect(out).toEqual(encodeRouting(table))
    expect(backing[0]).toBe(0xff)
    expect(backing[1 + encodedSize(1)]).toBe(0xff)
  })

  it('refuses a buffer too small for the table with ENOSPC', () => {
    const e = thrown(() =>
      encodeRouting([{ gsi: 1, type: 'hvSint', vcpu: 0, sint: 0 }], new Uint8Array(55)),
    )
    expect(e.rule).toBe('buffer-truncated')
    expect(e.code).toBe('ENOSPC')
  })

  it.each([
    ['gsi', { gsi: -1, type: 'irqchip', irqchip: 0, pin: 0 }],
    ['pin', { gsi: 1, type: 'irqchip', irqchip: 0, pin: 2 ** 32 }],
    ['data', { gsi: 1, type: 'msi', addressLo: 0, addressHi: 0, data: 1.5 }],
    ['devid', { gsi: 1, type: 'msi', addressLo: 0, addressHi: 0, data: 1, devid: Number.NaN }],
    ['port', { gsi: 1, type: 'xenEvtchn', port: '3', vcpu: 0 }],
    ['priority', { gsi: 1, type: 'xenEvtchn', port: 3, vcpu: 0, priority: -1 }],
    [
      'indAddr',
      {
        gsi: 1,
        type: 's390Adapter',
        indAddr: -1n,
        summaryAddr: 0n,
        indOffset: 0n,
        summaryOffset: 0,
        adapterId: 0,
      },
    ],
    [
      'indOffset',
      {
        gsi: 1,
        type: 's390Adapter',
        indAddr: 0n,
        summaryAddr: 0n,
        indOffset: 2n ** 64n,
        summaryOffset: 0,
        adapterId: 0,
      },
    ],
    [
      'summaryAddr',
      {
        gsi: 1,
        type: 's390Adapter',
        indAddr: 0n,
        summaryAddr: 5,
        indOffset: 0n,
        summaryOffset: 0,
        adapterId: 0,
      },
    ],
    ['vcpu', { gsi: 1, type: 'hvSint', sint: 0 }],
  ])('refuses a %s the struct cannot hold', (field, entry) => {
    const e = thrown(() => encodeRouting([entry as unknown as RoutingEntry]))
    expect(e.rule).toBe('field-range')
    expect(e.index).toBe(0)
    expect(e.message).toContain(field)
  })

  it('refuses an unknown type and a non-object entry', () => {
    expect(thrown(() => encodeRouting([{ gsi: 1, type: 'pic' } as never])).rule).toBe('entry-shape')
    const e = thrown(() =>
      encodeRouting([{ gsi: 1, type: 'hvSint', vcpu: 0, sint: 0 }, null as never]),
    )
    expect(e.rule).toBe('entry-shape')
    expect(e.index).toBe(1)
  })

  it('encodes tables KVM would reject (encoding is not validation)', () => {
    const bad: RoutingEntry[] = [
      { gsi: 5000, type: 'irqchip', irqchip: 7, pin: 99 },
      { gsi: 5000, type: 'irqchip', irqchip: 7, pin: 99 },
    ]
    expect(() => validateRouting(bad)).toThrow(RoutingError)
    expect(decodeRouting(encodeRouting(bad))).toEqual(bad)
  })
})

describe('decodeRouting', () => {
  const sample: RoutingEntry[] = [
    { gsi: 1, type: 'irqchip', irqchip: 0, pin: 1 },
    { gsi: 2, type: 'msi', addressLo: 0xfee0_0000, addressHi: 0, data: 0x31, devid: 0x10 },
    { gsi: 3, type: 'xenEvtchn', port: 5, vcpu: 1 },
  ]
  const encoded = () => encodeRouting(sample)
  const setWord = (bytes: Uint8Array, at: number, v: number) =>
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, v, true)

  it('returns every field, the Xen priority included', () => {
    expect(decodeRouting(encoded())).toEqual([
      sample[0],
      sample[1],
      { gsi: 3, type: 'xenEvtchn', port: 5, vcpu: 1, priority: 0xffff_ffff },
    ])
  })

  it('omits devid when KVM_MSI_VALID_DEVID is clear', () => {
    const [msi] = decodeRouting(
      encodeRouting([{ gsi: 2, type: 'msi', addressLo: 1, addressHi: 2, data: 3 }]),
    )
    expect(msi).toEqual({ gsi: 2, type: 'msi', addressLo: 1, addressHi: 2, data: 3 })
    expect(Object.hasOwn(msi as object, 'devid')).toBe(false)
  })

  it('reads a table at any offset of a larger buffer', () => {
    const backing = new Uint8Array(encoded().byteLength + 5)
    backing.set(encoded(), 5)
    expect(decodeRouting(backing.subarray(5))).toEqual(decodeRouting(encoded()))
  })

  it('rejects a buffer shorter than the header', () => {
    expect(thrown(() => decodeRouting(new Uint8Array(7))).rule).toBe('buffer-truncated')
  })

  it('rejects a partial entry', () => {
    expect(thrown(() => decodeRouting(encoded().subarray(0, 8 + 48 * 2 + 47))).rule).toBe(
      'buffer-truncated',
    )
  })

  it('rejects an nr that does not match the buffer, both ways', () => {
    const more = encoded()
    setWord(more, 0, 4)
    expect(thrown(() => decodeRouting(more)).rule).toBe('nr-mismatch')
    const fewer = encoded()
    setWord(fewer, 0, 2)
    expect(thrown(() => decodeRouting(fewer)).rule).toBe('nr-mismatch')
  })

  it('rejects header flags', () => {
    const bytes = encoded()
    setWord(bytes, 4, 1)
    expect(thrown(() => decodeRouting(bytes)).rule).toBe('header-flags')
  })

  it.each([0, 6, 0xffff_ffff])('rejects unknown type %d naming the entry', (type) => {
    const bytes = encoded()
    setWord(bytes, 8 + 48 * 2 + 4, type)
    const e = thrown(() => decodeRouting(bytes))
    expect(e.rule).toBe('entry-type')
    expect(e.index).toBe(2)
  })

  it('rejects flags other than VALID_DEVID on MSI and any flag on other types', () => {
    const msi = encoded()
    setWord(msi, 8 + 48 + 8, 3)
    expect(thrown(() => decodeRouting(msi)).rule).toBe('entry-flags')
    const irqchip = encoded()
    setWord(irqchip, 8 + 8, 1)
    const e = thrown(() => decodeRouting(irqchip))
    expect(e.rule).toBe('entry-flags')
    expect(e.index).toBe(0)
  })

  it('rejects non-zero pad and non-zero unused union bytes', () => {
    const pad = encoded()
    setWord(pad, 8 + 12, 1)
    expect(thrown(() => decodeRouting(pad)).rule).toBe('reserved-bytes')
    const tail = encoded()
    tail[8 + 48 * 2 + 47] = 1
    expect(thrown(() => decodeRouting(tail)).rule).toBe('reserved-bytes')
    // MSI without VALID_DEVID: the devid word is padding
    const msi = encodeRouting([{ gsi: 2, type: 'msi', addressLo: 1, addressHi: 2, data: 3 }])
    setWord(msi, 8 + 28, 9)
    expect(thrown(() => decodeRouting(msi)).rule).toBe('reserved-bytes')
  })

  it('rejects what is not a Uint8Array', () => {
    expect(thrown(() => decodeRouting([0, 0, 0, 0, 0, 0, 0, 0] as never)).rule).toBe(
      'buffer-truncated',
    )
  })
})

describe('properties', () => {
  it('decodeRouting(encodeRouting(t)) returns t for valid tables', () => {
    fc.assert(
      fc.property(validTable, (t) => {
        validateRouting(t)
        expect(decodeRouting(encodeRouting(t))).toEqual(t.map(normalizeEntry))
      }),
      { numRuns: 500 },
    )
  })

  it('decodeRouting(encodeRouting(t)) returns t for any encodable table, s390 and all', () => {
    fc.assert(
      fc.property(anyTable, (t) => {
        expect(decodeRouting(encodeRouting(t))).toEqual(t.map(normalizeEntry))
      }),
      { numRuns: 500 },
    )
  })

  it('encodeRouting(decodeRouting(b)) returns b whenever b decodes', () => {
    fc.assert(
      fc.property(anyTable, fc.nat(), fc.nat(255), (t, at, byte) => {
        const bytes = encodeRouting(t)
        bytes[at % bytes.byteLength] = byte
        let decoded: RoutingEntry[]
        try {
          decoded = decodeRouting(bytes)
        } catch (error) {
          expect(error).toBeInstanceOf(RoutingError)
          return
        }
        expect(encodeRouting(decoded)).toEqual(bytes)
      }),
      { numRuns: 1000 },
    )
  })

  it('random bytes make decodeRouting throw nothing but RoutingError', () => {
    const header = fc.tuple(fc.nat(4), fc.nat(3)).map(([nr, flags]) => {
      const h = new Uint8Array(8)
      new DataView(h.buffer).setUint32(0, nr, true)
      new DataView(h.buffer).setUint32(4, flags === 3 ? 0 : flags, true)
      return h
    })
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      // plausible headers, so the entry checks are reached too
      fc.tuple(header, fc.uint8Array({ maxLength: 250 })).map(([h, rest]) => {
        const out = new Uint8Array(8 + rest.length)
        out.set(h)
        out.set(rest, 8)
        return out
      }),
    )
    fc.assert(
      fc.property(bytes, (b) => {
        try {
          const entries = decodeRouting(b)
          expect(b.byteLength).toBe(encodedSize(entries.length))
        } catch (error) {
          expect(error).toBeInstanceOf(RoutingError)
          expect((error as RoutingError).name).toBe('RoutingError')
        }
      }),
      { numRuns: 3000 },
    )
  })
})
