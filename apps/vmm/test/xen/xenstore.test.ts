import {
  XENSTORE_CONNECTED,
  XENSTORE_SERVER_FEATURE_RECONNECTION,
  XENSTORE_INTERFACE as XS,
  XsType,
} from '@tsvmm/xenstore'
import { describe, expect, it } from 'vitest'
import { XenstoreBackend } from '../../src/xen/xenstore.js'
import { pvFixture } from './pv-fixture.js'

const PAGE = 0x3ff000
const UUID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301'
const dec = (b: Uint8Array) => new TextDecoder().decode(b)

/** The guest's end of the store ring: what Linux's xenbus/xenbus_comms.c does. */
function guestRing(f: ReturnType<typeof pvFixture>, port: number) {
  const m = f.memory
  let reqId = 0
  const send = (type: number, payload: string) => {
    const body = new TextEncoder().encode(payload)
    const msg = new Uint8Array(16 + body.length)
    const v = new DataView(msg.buffer)
    v.setUint32(0, type, true)
    v.setUint32(4, ++reqId, true)
    v.setUint32(12, body.length, true)
    msg.set(body, 16)
    let prod = m.readU32(PAGE + XS.reqProd)
    for (const b of msg) m.writeU8(PAGE + XS.req + (prod++ % 1024), b)
    m.writeU32(PAGE + XS.reqProd, prod >>> 0)
    f.engine.guestSend(port)
  }
  /** Every whole message in the response ring. */
  const receive = () => {
    const out: { type: number; payload: string }[] = []
    let cons = m.readU32(PAGE + XS.rspCons)
    const prod = m.readU32(PAGE + XS.rspProd)
    const byte = (i: number) => m.readU8(PAGE + XS.rsp + ((cons + i) % 1024))
    while (prod - cons >= 16) {
      const u32 = (at: number) =>
        (byte(at) | (byte(at + 1) << 8) | (byte(at + 2) << 16) | (byte(at + 3) << 24)) >>> 0
      const len = u32(12)
      const body = Uint8Array.from({ length: len }, (_, i) => byte(16 + i))
      out.push({ type: u32(0), payload: dec(body) })
      cons += 16 + len
    }
    m.writeU32(PAGE + XS.rspCons, cons >>> 0)
    return out
  }
  return { send, receive }
}

function setup() {
  const f = pvFixture()
  const errors: string[] = []
  const xs = new XenstoreBackend({
    memory: f.memory,
    gpa: PAGE,
    evtchn: f.evtchn,
    domain: { domid: 1, name: 'vm1', uuid: UUID, memoryKiB: 4096 },
    onError: (e) => errors.push(e),
  })
  return { f, xs, errors, guest: guestRing(f, xs.port) }
}

describe('XenstoreBackend: the store ring on a backend-bound event channel', () => {
  it('advertises a connected ring and binds a backend port in the guest', () => {
    const { f, xs } = setup()
    expect(f.memory.readU32(PAGE + XS.connection)).toBe(XENSTORE_CONNECTED)
    expect(f.memory.readU32(PAGE + XS.serverFeatures) & XENSTORE_SERVER_FEATURE_RECONNECTION).toBe(
      XENSTORE_SERVER_FEATURE_RECONNECTION,
    )
    expect(xs.port).toBeGreaterThan(0)
    expect(f.engine.portInfo(xs.port)).toMatchObject({ backend: true })
  })

  it('answers a guest READ on the guest send, and raises the port', () => {
    const { f, xs, guest } = setup()
    guest.send(XsType.READ, 'name\0')
    expect(xs.kicks).toBe(1)
    expect(guest.receive()).toEqual([{ type: XsType.READ, payload: 'vm1' }])
    expect(f.takePending(xs.port)).toBe(true)
    guest.send(XsType.READ, 'vm\0')
    expect(guest.receive()).toEqual([{ type: XsType.READ, payload: `/vm/${UUID}` }])
    guest.send(XsType.WRITE, 'name\0evil')
    expect(guest.receive()).toEqual([{ type: XsType.ERROR, payload: 'EACCES\0' }])
  })

  it('requestShutdown: the guest watch on control/shutdown fires with "poweroff"', () => {
    const { xs, guest } = setup()
    guest.send(XsType.WATCH, 'control/shutdown\0tok\0')
    const first = guest.receive()
    // The reply, and the event every new watch fires once.
    expect(first.map((m) => m.type).sort()).toEqual([XsType.WATCH, XsType.WATCH_EVENT].sort())
    expect(xs.requestShutdown('poweroff')).toBeUndefined()
    expect(guest.receive()).toEqual([
      { type: XsType.WATCH_EVENT, payload: 'control/shutdown\0tok\0' },
    ])
    guest.send(XsType.READ, 'control/shutdown\0')
    expect(guest.receive()).toEqual([{ type: XsType.READ, payload: 'poweroff' }])
    // Linux says what it supports; the VMM reads it.
    expect(xs.read('control/feature-poweroff')).toBe('')
    guest.send(XsType.WRITE, 'control/feature-poweroff\x001')
    guest.receive()
    expect(xs.read('control/feature-poweroff')).toBe('1')
  })

  it('a ring whose indexes lie is given up on; the VMM keeps running', () => {
    const { f, xs, guest, errors } = setup()
    f.memory.writeU32(PAGE + XS.reqProd, 0x7fff_0000)
    f.engine.guestSend(xs.port)
    expect(xs.server.ringFailed).toBe(true)
    expect(f.memory.readU32(PAGE + XS.error)).not.toBe(0)
    expect(errors).toEqual([])
    // More kicks change nothing and throw nothing.
    for (let i = 0; i < 5; i++) f.engine.guestSend(xs.port)
    expect(guest.receive()).toEqual([])
  })

  it('refuses a store page outside RAM or not page-aligned', () => {
    const f = pvFixture()
    const domain = { domid: 1, name: 'x', uuid: UUID, memoryKiB: 1 }
    const onError = () => {}
    for (const gpa of [0x400000, PAGE + 8])
      expect(
        () => new XenstoreBackend({ memory: f.memory, gpa, evtchn: f.evtchn, domain, onError }),
      ).toThrow(RangeError)
  })

  it('close unbinds the port: later sends reach nothing', () => {
    const { f, xs } = setup()
    xs.close()
    expect(f.engine.portInfo(xs.port).backend).toBe(false)
  })
})
