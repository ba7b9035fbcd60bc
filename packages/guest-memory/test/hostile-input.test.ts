// Issue 12: every bad argument gets GuestMemoryError (never a TypeError from inside, never
// silent acceptance), and a region whose buffer was detached refuses access with a typed error.
import { describe, expect, it } from 'vitest'
import { GuestMemory, GuestMemoryError } from '../src/index.js'

function fault(f: () => unknown): GuestMemoryError {
  try {
    f()
  } catch (e) {
    if (e instanceof GuestMemoryError) return e
    throw e
  }
  throw new Error('expected a GuestMemoryError')
}

const ram = () => new GuestMemory([{ gpa: 0x1000, bytes: new Uint8Array(0x1000) }])

describe('the constructor refuses malformed regions with GuestMemoryError', () => {
  const cases: [string, unknown][] = [
    ['null regions', null],
    ['undefined regions', undefined],
    ['a number', 42],
    ['a non-iterable object', { length: 1, 0: { gpa: 0, bytes: new Uint8Array(1) } }],
    ['a null region', [null]],
    ['a string region', ['x']],
    ['a region without bytes', [{ gpa: 0 }]],
    [
      'bytes that only inherit Uint8Array.prototype',
      [{ gpa: 0, bytes: Object.create(Uint8Array.prototype) }],
    ],
    ['bytes that are a Uint16Array', [{ gpa: 0, bytes: new Uint16Array(4) }]],
    ['bytes behind a proxy', [{ gpa: 0, bytes: new Proxy(new Uint8Array(4), {}) }]],
    ['a bigint gpa', [{ gpa: 0n, bytes: new Uint8Array(4) }]],
    ['a string gpa', [{ gpa: '0', bytes: new Uint8Array(4) }]],
    [
      'a null-prototype region',
      [Object.assign(Object.create(null), { gpa: 1.5, bytes: new Uint8Array(4) })],
    ],
  ]
  for (const [name, regions] of cases)
    it(name, () => {
      const e = fault(() => new GuestMemory(regions as never))
      expect(e).toMatchObject({ fault: 'invalid-region', code: 'EINVAL', errno: -22 })
    })

  it('still takes any iterable, and a Buffer', () => {
    const set = new Set([{ gpa: 0, bytes: Buffer.alloc(16) }])
    expect(new GuestMemory(set).contains(0, 16)).toBe(true)
  })
})

describe('write, readInto and fill refuse wrong-typed data and values', () => {
  it('write and readInto take only a real Uint8Array', () => {
    const mem = ram()
    for (const data of [
      null,
      undefined,
      'abc',
      [1, 2],
      { length: 4 },
      new Uint16Array(2),
      Object.create(Uint8Array.prototype),
    ]) {
      expect(fault(() => mem.write(0x1000, data as never)).fault).toBe('invalid-value')
      expect(fault(() => mem.readInto(0x1000, data as never)).fault).toBe('invalid-value')
    }
  })

  it('fill(0x1000, 4, 256) is refused and writes nothing', () => {
    const mem = ram()
    for (const value of [256, -1, 1.5, Number.NaN, '7', 1n, null]) {
      const e = fault(() => mem.fill(0x1000, 4, value as never))
      expect(e).toMatchObject({ fault: 'invalid-value', code: 'EINVAL', errno: -22, gpa: 0x1000 })
    }
    expect([...mem.read(0x1000, 4)]).toEqual([0, 0, 0, 0])
    mem.fill(0x1000, 4, 255)
    expect([...mem.read(0x1000, 4)]).toEqual([255, 255, 255, 255])
  })

  it('typed writes and atomics refuse non-numbers', () => {
    const mem = ram()
    expect(fault(() => mem.writeU32(0x1000, '1' as never)).fault).toBe('invalid-value')
    expect(fault(() => mem.writeU64(0x1000, 1 as never)).fault).toBe('invalid-value')
    expect(fault(() => mem.atomicOr32(0x1000, 1n as never)).fault).toBe('invalid-value')
    expect(fault(() => mem.readU8(Symbol('x') as never)).fault).toBe('invalid-address')
  })
})

describe('a detached region (kvm-sys removed it or closed the VM)', () => {
  function detachedRam() {
    const buffer = new ArrayBuffer(0x2000)
    const mem = new GuestMemory([
      { gpa: 0, bytes: new Uint8Array(buffer) },
      { gpa: 0x10000, bytes: new Uint8Array(0x1000) },
    ])
    structuredClone(buffer, { transfer: [buffer] }) // detaches it, as kvm-sys does
    return mem
  }

  it('every accessor throws GuestMemoryError with fault detached (EFAULT)', () => {
    const mem = detachedRam()
    const calls: (() => unknown)[] = [
      () => mem.readU8(0),
      () => mem.readU16(2),
      () => mem.readU32(4),
      () => mem.readU64(8),
      () => mem.writeU8(0, 1),
      () => mem.writeU64(8, 1n),
      () => mem.read(0, 4),
      () => mem.bytes(0, 4),
      () => mem.readInto(0, new Uint8Array(4)),
      () => mem.write(0, new Uint8Array(4)),
      () => mem.fill(0, 4, 1),
      () => mem.atomicLoad32(0),
      () => mem.atomicOr32(0, 1),
      () => mem.lanes(0, 16),
      () => mem.testAndSetBit(0, 3),
      () => mem.testBit(0, 3),
    ]
    for (const call of calls)
      expect(fault(call)).toMatchObject({ fault: 'detached', code: 'EFAULT', errno: -14 })
    expect(mem.contains(0, 4)).toBe(false)
    // The other region is untouched.
    mem.writeU32(0x10000, 7)
    expect(mem.readU32(0x10000)).toBe(7)
  })
})
