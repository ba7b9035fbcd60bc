import { GuestMemory } from '@tsvmm/guest-memory'
import { describe, expect, it } from 'vitest'
import { wallClockOffsets, writeWallClock } from '../../src/xen/wallclock.js'

describe('shared_info wall clock', () => {
  it('sits after vcpu_info[32] and the two bitmaps (3072 in 64-bit, 2304 in 32-bit)', () => {
    expect(wallClockOffsets(true)).toEqual({ version: 3072, sec: 3076, nsec: 3080, secHi: 3084 })
    expect(wallClockOffsets(false)).toEqual({ version: 2304, sec: 2308, nsec: 2312 })
  })
  it('writes sec/nsec/sec_hi and leaves wc_version even and advanced', () => {
    const m = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x2000) }])
    const boot = 0x1_2345_6789n * 1_000_000_000n + 987_654_321n
    writeWallClock(m, 0x1000, boot, true)
    expect(m.readU32(0x1000 + 3072)).toBe(2)
    expect(m.readU32(0x1000 + 3076)).toBe(0x2345_6789)
    expect(m.readU32(0x1000 + 3080)).toBe(987_654_321)
    expect(m.readU32(0x1000 + 3084)).toBe(1)
    writeWallClock(m, 0x1000, boot, true)
    expect(m.readU32(0x1000 + 3072)).toBe(4)
  })
})
