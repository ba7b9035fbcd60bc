// The ring under a guest that follows the protocol slowly, and under one that lies: indexes
// more than a ring apart, over-long payloads, requests in dribs and drabs, replies larger than
// the ring; then a reconnection that makes a failed ring usable again.
import { describe, expect, it } from 'vitest'
import {
  XENSTORE_INTERFACE as I,
  joinFields,
  XENSTORE_CONNECTED,
  XENSTORE_RECONNECT,
  XenstoreError,
  XenstoreRingError,
  XenstoreServer,
  XsType,
} from '../src/index.js'
import { FakeGuest, header, populate, setU32, u32 } from './helpers.js'

function guest(options = {}) {
  const g = new FakeGuest(options)
  populate(g)
  return g
}

describe('ring setup', () => {
  it('advertises reconnection and error reporting, connected, indexes zero', () => {
    const g = guest()
    expect(u32(g.page, I.serverFeatures)).toBe(3)
    expect(u32(g.page, I.connection)).toBe(XENSTORE_CONNECTED)
    expect(
      [I.reqCons, I.reqProd, I.rspCons, I.rspProd, I.error].map((o) => u32(g.page, o)),
    ).toEqual([0, 0, 0, 0, 0])
  })

  it('bad pages and options are XenstoreError EINVAL', () => {
    const notify = () => {}
    const bad = [
      { domid: 1, ring: new Uint8Array(100), notify },
      { domid: 1, ring: new Uint8Array(new ArrayBuffer(4100), 2, 4096), notify },
      { domid: 0, ring: new Uint8Array(4096), notify },
      { domid: 1.5, ring: new Uint8Array(4096), notify },
      { domid: 1, ring: new Uint8Array(4096), notify: 3 },
      { domid: 1, ring: 'page', notify },
      { domid: 1, ring: new Uint8Array(4096), notify, budget: 0 },
    ]
    for (const o of bad) {
      const e = (() => {
        try {
          new XenstoreServer(o as never)
        } catch (err) {
          return err
        }
      })()
      expect(e).toBeInstanceOf(XenstoreError)
      expect((e as XenstoreError).errno).toBe(-22)
      expect((e as XenstoreError).code).toBe('EINVAL')
    }
  })
})

describe('a slow but honest guest', () => {
  it('a request written one byte per kick, across the ring wrap, gets one reply', () => {
    const g = guest()
    // Move the indexes near the wrap of both rings and of the u32 space.
    for (const o of [I.reqCons, I.reqProd, I.rspCons, I.rspProd]) setU32(g.page, o, 0xfffffff0)
    const payload = joinFields(['domid'])
    const msg = new Uint8Array([...header(XsType.READ, 42, 0, payload.length), ...payload])
    for (const b of msg) g.push(Uint8Array.of(b))
    g.drain()
    const [r] = g.messages()
    expect(r?.reqId).toBe(42)
    expect(Buffer.from(r?.payload ?? []).toString()).toBe('1')
  })

  it('a 4 KiB reply goes out through the 1 KiB ring as the guest consumes it', () => {
    const g = guest()
    g.server.store.write(0, 0, '/local/domain/1/data/big', 'x'.repeat(4096))
    const r = g.raw(XsType.READ, joinFields(['data/big']))
    expect(r.payload.length).toBe(4096)
  })

  it('process() stops at its budget with more to do, and finishes when called again', () => {
    const g = guest({ budget: 2 })
    const payload = joinFields(['domid'])
    const one = new Uint8Array([...header(XsType.READ, 1, 0, payload.length), ...payload])
    // Three small requests at once; the guest reads replies in between.
    const page = g.page
    const all = new Uint8Array([...one, ...one, ...one])
    page.set(all, I.req)
    setU32(page, I.reqProd, all.length)
    let rounds = 0
    while (g.server.process()) {
      g.drain()
      rounds++
      if (rounds > 10) throw new Error('no progress')
    }
    g.drain()
    expect(g.messages()).toHaveLength(3)
  })
})

describe('a lying guest', () => {
  it('req indexes more than a ring apart: error RINGIDX, nothing served, no throw', () => {
    const g = guest()
    setU32(g.page, I.reqProd, 5000)
    expect(() => g.server.process()).not.toThrow()
    expect(u32(g.page, I.error)).toBe(XenstoreRingError.RINGIDX)
    expect(g.server.ringFailed).toBe(true)
    expect(u32(g.page, I.rspProd)).toBe(0)
  })

  it('rsp indexes more than a ring apart: error RINGIDX', () => {
    const g = guest()
    setU32(g.page, I.rspCons, 0x80000000)
    const payload = joinFields(['domid'])
    g.page.set([...header(XsType.READ, 1, 0, payload.length), ...payload], I.req)
    setU32(g.page, I.reqProd, 16 + payload.length)
    g.server.process()
    expect(u32(g.page, I.error)).toBe(XenstoreRingError.RINGIDX)
  })

  it('a payload length over XENSTORE_PAYLOAD_MAX: error PROTO', () => {
    const g = guest()
    g.page.set(header(XsType.WRITE, 1, 0, 4097), I.req)
    setU32(g.page, I.reqProd, 16)
    g.server.process()
    expect(u32(g.page, I.error)).toBe(XenstoreRingError.PROTO)
    // The failed ring stays quiet whatever the guest writes next.
    setU32(g.page, I.reqProd, 17)
    g.server.process()
    expect(u32(g.page, I.rspProd)).toBe(0)
  })

  it('a header that never completes is just waited for', () => {
    const g = guest()
    g.page.set([2, 0, 0], I.req)
    setU32(g.page, I.reqProd, 3)
    expect(g.server.process()).toBe(false)
    expect(u32(g.page, I.reqCons)).toBe(3)
    expect(u32(g.page, I.error)).toBe(0)
  })

  it('reconnection resets the ring, the error and the guest state, and the ring works again', () => {
    const g = guest()
    expect(g.do('WATCH', ['data', 't'])).toBe('OK')
    g.takeEvents()
    setU32(g.page, I.reqProd, 5000)
    g.server.process()
    expect(u32(g.page, I.error)).toBe(XenstoreRingError.RINGIDX)
    setU32(g.page, I.connection, XENSTORE_RECONNECT)
    const before = g.notifications
    g.server.process()
    expect(g.notifications).toBe(before + 1)
    expect(u32(g.page, I.connection)).toBe(XENSTORE_CONNECTED)
    expect(
      [I.reqCons, I.reqProd, I.rspCons, I.rspProd, I.error].map((o) => u32(g.page, o)),
    ).toEqual([0, 0, 0, 0, 0])
    expect(g.server.ringFailed).toBe(false)
    expect(g.do('READ', ['domid'])).toBe('1')
    // Its watch went with the reset: a change fires nothing.
    g.raw(XsType.WRITE, Buffer.from('data/x\0'))
    expect(g.takeEvents()).toEqual([])
  })
})
