// GuestMemory on random operations with random (often wrong) arguments, over plain and shared
// buffers, and with one region's buffer detached part-way (as kvm-sys does on removal).
// Typed: GuestMemoryError. A refused write must leave memory as it was.
import { GuestMemory, GuestMemoryError } from '../../../packages/guest-memory/dist/index.js'
import { anyValue, NASTY_NUMBERS, rng, tally } from '../harness.mjs'

const OPS = [
  'readU8',
  'readU16',
  'readU32',
  'readU64',
  'writeU8',
  'writeU16',
  'writeU32',
  'writeU64',
  'read',
  'bytes',
  'readInto',
  'write',
  'fill',
  'contains',
  'lanes',
  'atomicLoad32',
  'atomicStore32',
  'atomicExchange32',
  'atomicOr32',
  'atomicAnd32',
  'testAndSetBit',
  'testAndClearBit',
  'testBit',
]

export function run(count, seed) {
  const r = rng(seed)
  const t = tally('guest-memory', (e) => e instanceof GuestMemoryError)
  const gpaOf = () =>
    r.chance(0.6)
      ? r.pick([0, 0x1000, 0x1ffc, 0x2000, 0x10000, 0x10ffe, 0x11000]) + r.int(-4, 4)
      : r.chance(0.5)
        ? r.pick(NASTY_NUMBERS)
        : anyValue(r)
  const valueArg = () =>
    r.chance(0.6) ? r.int(0, 300) : r.chance(0.5) ? BigInt(r.int(0, 9)) : anyValue(r)
  let mem
  let detachable
  const fresh = () => {
    detachable = new ArrayBuffer(0x1000)
    mem = new GuestMemory([
      { gpa: 0x1000, bytes: new Uint8Array(0x1000) },
      { gpa: 0x10000, bytes: new Uint8Array(new SharedArrayBuffer(0x1000)) },
      { gpa: 0x20000, bytes: new Uint8Array(detachable) },
    ])
  }
  fresh()
  for (let i = 0; i < count; i++) {
    if (i === Math.floor(count / 10)) t.warm()
    if (i % 500 === 0) fresh()
    if (i % 500 === 250) structuredClone(detachable, { transfer: [detachable] })
    if (r.chance(0.02)) {
      t.input(
        () =>
          new GuestMemory(r.chance(0.5) ? anyValue(r) : [{ gpa: anyValue(r), bytes: anyValue(r) }]),
      )
      continue
    }
    const op = r.pick(OPS)
    const args = [
      gpaOf(),
      op === 'readInto' || op === 'write'
        ? r.chance(0.7)
          ? r.bytes(r.int(0, 16))
          : anyValue(r)
        : valueArg(),
      valueArg(),
    ]
    const before = mem.read(0x1000, 0x1000)
    t.input(() => {
      try {
        mem[op](...args)
      } catch (e) {
        if (
          e instanceof GuestMemoryError &&
          !mem.read(0x1000, 0x1000).every((b, k) => b === before[k])
        )
          t.fail(`${op} threw ${e.fault} but changed memory`)
        throw e
      }
    })
  }
  t.report()
}
