import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { XENCONS, XenConsoleBackend } from '../../src/xen/console.js'
import { pvFixture } from './pv-fixture.js'

const PAGE = 0x3fe000

function setup() {
  const f = pvFixture()
  const out: Uint8Array[] = []
  const con = new XenConsoleBackend({
    memory: f.memory,
    gpa: PAGE,
    evtchn: f.evtchn,
    output: (b) => out.push(b),
  })
  const m = f.memory
  /** What hvc_xen's __write_console does: bytes at out_prod, then the index, then a kick. */
  const guestWrite = (bytes: Uint8Array, kick = true) => {
    let prod = m.readU32(PAGE + XENCONS.outProd)
    for (const b of bytes) {
      m.writeU8(PAGE + XENCONS.out + (prod % 2048), b)
      prod = (prod + 1) >>> 0
    }
    m.writeU32(PAGE + XENCONS.outProd, prod)
    if (kick) f.engine.guestSend(con.port)
  }
  const all = () => Buffer.concat(out.splice(0))
  return { f, m, con, out, all, guestWrite }
}

describe('XenConsoleBackend: the xencons_interface rings', () => {
  it('passes what the guest writes to hvc0 on byte for byte, and notifies it', () => {
    const { f, m, con, all, guestWrite } = setup()
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i)
    guestWrite(bytes)
    expect([...all()]).toEqual([...bytes])
    expect(m.readU32(PAGE + XENCONS.outCons)).toBe(256)
    expect(f.takePending(con.port)).toBe(true)
    expect(con.bytesOut).toBe(256)
  })

  it('follows the indexes across the ring end and the 32-bit wrap', () => {
    const { m, all, guestWrite } = setup()
    m.writeU32(PAGE + XENCONS.outCons, 0xffff_fffa)
    m.writeU32(PAGE + XENCONS.outProd, 0xffff_fffa)
    const text = new TextEncoder().encode('across the wrap: 0123456789')
    guestWrite(text)
    expect(all().toString()).toBe('across the wrap: 0123456789')
    expect(m.readU32(PAGE + XENCONS.outCons)).toBe((0xffff_fffa + text.length) >>> 0)
  })

  it('a full ring (2048 bytes) is taken whole; output written without a kick is drained on poll', () => {
    const { con, all, guestWrite } = setup()
    guestWrite(new Uint8Array(2048).fill(0x41), false)
    expect(con.drain()).toBe(2048)
    expect(all().length).toBe(2048)
    expect(con.drain()).toBe(0)
  })

  it('a producer more than a ring ahead is refused: nothing read, counted, no throw', () => {
    const { m, con, out } = setup()
    m.writeU32(PAGE + XENCONS.outCons, 10)
    m.writeU32(PAGE + XENCONS.outProd, 10 + 2049)
    expect(con.drain()).toBe(0)
    m.writeU32(PAGE + XENCONS.outProd, 5) // behind the consumer: a huge unsigned distance
    expect(con.drain()).toBe(0)
    expect(con.badIndexes).toBe(2)
    expect(out).toEqual([])
  })

  it('any index values: never throws, never reads more than a ring', () => {
    const { m, con, out } = setup()
    fc.assert(
      fc.property(fc.nat(0xffff_ffff), fc.nat(0xffff_ffff), (cons, prod) => {
        m.writeU32(PAGE + XENCONS.outCons, cons)
        m.writeU32(PAGE + XENCONS.outProd, prod)
        const n = con.drain()
        expect(n).toBeLessThanOrEqual(2048)
        expect(n).toBe((prod - cons) >>> 0 <= 2048 ? (prod - cons) >>> 0 : 0)
        m.writeU32(PAGE + XENCONS.inCons, prod)
        m.writeU32(PAGE + XENCONS.inProd, cons)
        expect(con.input(new Uint8Array(8))).toBeLessThanOrEqual(8)
        out.length = 0
      }),
      { numRuns: 2000 },
    )
  })

  it('input goes into the in ring up to its free space, after the guest consumer', () => {
    const { m, con } = setup()
    expect(con.input(new TextEncoder().encode('ls\n'))).toBe(3)
    expect(m.readU32(PAGE + XENCONS.inProd)).toBe(3)
    expect(Buffer.from(m.read(PAGE + XENCONS.in, 3)).toString()).toBe('ls\n')
    expect(con.input(new Uint8Array(2000))).toBe(1021)
    expect(con.input(new Uint8Array(1))).toBe(0)
    m.writeU32(PAGE + XENCONS.inCons, 100) // the guest read 100 bytes
    expect(con.input(new Uint8Array(500))).toBe(100)
    m.writeU32(PAGE + XENCONS.inCons, 2000) // a consumer past the producer
    expect(con.input(new Uint8Array(1))).toBe(0)
    expect(con.badIndexes).toBe(1)
  })

  it('refuses a page outside RAM; close unbinds the port and drains the rest', () => {
    const { f, con, all, guestWrite } = setup()
    expect(
      () =>
        new XenConsoleBackend({ memory: f.memory, gpa: 0x400000, evtchn: f.evtchn, output() {} }),
    ).toThrow(RangeError)
    guestWrite(new TextEncoder().encode('last words'), false)
    con.close()
    expect(all().toString()).toBe('last words')
    expect(f.engine.portInfo(con.port).backend).toBe(false)
  })
})
