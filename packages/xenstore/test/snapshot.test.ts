// biome-ignore-all lint/suspicious/noExplicitAny: the tests damage snapshots as loose JSON on purpose
// Snapshot and restore: a server saved mid-conversation (open transaction, watches, a request
// half written, events queued) and restored from JSON carries on exactly as the original would;
// a damaged snapshot is refused with XenstoreError, never half-applied or thrown as a TypeError.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  XENSTORE_INTERFACE as I,
  joinFields,
  restoreStore,
  snapshotStore,
  XenstoreError,
  XenstoreServer,
  XsType,
} from '../src/index.js'
import { FakeGuest, header, populate, setU32 } from './helpers.js'

/** A guest in the middle of things. */
function busyGuest() {
  const g = new FakeGuest()
  populate(g)
  g.raw(XsType.WRITE, Buffer.from('data/a\0one'))
  g.do('WATCH', ['data', 'rel'])
  g.do('WATCH', ['/local/domain/1/device', 'abs'])
  g.takeEvents()
  const tx = Number(g.do('TRANSACTION_START', ['']))
  g.raw(XsType.WRITE, Buffer.from('data/b\0in-tx'), tx)
  g.do('SET_PERMS', ['data/a', 'n1', 'r0'])
  expect(g.takeEvents()).toEqual([['data/a', 'rel']])
  // Half a request in the ring, consumed by the server but not complete.
  const payload = joinFields(['data/a'])
  const msg = new Uint8Array([...header(XsType.READ, 77, 0, payload.length), ...payload])
  const prod = new DataView(g.page.buffer).getUint32(I.reqProd, true)
  g.page.set(msg.subarray(0, 10), I.req + (prod & 1023))
  setU32(g.page, I.reqProd, prod + 10)
  g.server.process()
  return { g, tx, rest: msg.subarray(10) }
}

function restoreInto(g: FakeGuest, json: string): FakeGuest {
  const g2 = Object.create(FakeGuest.prototype) as FakeGuest
  const page = g.page.slice()
  Object.assign(g2, { page, notifications: 0, nextReq: 1000, rx: [], events: [] })
  const server = XenstoreServer.restore(JSON.parse(json), {
    ring: page,
    notify: () => g2.notifications++,
  })
  Object.assign(g2, { server })
  return g2
}

describe('snapshot and restore', () => {
  it('a restored server finishes the half-written request and behaves as the original', () => {
    const { g, tx, rest } = busyGuest()
    const json = JSON.stringify(g.server.snapshot())
    const copy = restoreInto(g, json)
    for (const x of [g, copy]) {
      x.push(rest)
      x.drain()
      const [r] = x.messages()
      expect(r?.reqId).toBe(77)
      expect(Buffer.from(r?.payload ?? []).toString()).toBe('one')
      expect(x.do('READ', ['data/b'], tx)).toBe('in-tx')
      expect(x.do('GET_PERMS', ['data/a'])).toBe('n1|r0')
      x.server.store.write(0, 0, '/local/domain/1/device/vif', '')
      expect(x.takeEvents()).toEqual([['/local/domain/1/device/vif', 'abs']])
      expect(x.do('TRANSACTION_END', ['T'], tx)).toBe('EAGAIN')
      expect(x.do('WATCH', ['data', 'rel'])).toBe('EEXIST')
    }
    expect(JSON.stringify(copy.server.snapshot().store)).toBe(
      JSON.stringify(g.server.snapshot().store),
    )
  })

  it('a transaction restored with pending changes fires them on commit', () => {
    const g = new FakeGuest()
    populate(g)
    g.do('WATCH', ['data', 'w'])
    const tx = Number(g.do('TRANSACTION_START', ['']))
    g.raw(XsType.WRITE, Buffer.from('data/t\0'), tx)
    g.takeEvents()
    const copy = restoreInto(g, JSON.stringify(g.server.snapshot()))
    expect(copy.do('TRANSACTION_END', ['T'], tx)).toBe('OK')
    expect(copy.takeEvents()).toEqual([['data/t', 'w']])
  })

  it('queued events and a partly written response survive', () => {
    const g = new FakeGuest()
    populate(g)
    g.do('WATCH', ['data', 'w'])
    g.takeEvents()
    for (let i = 0; i < 100; i++) g.server.store.write(0, 0, '/local/domain/1/data/q', String(i))
    const state = g.server.connectionState()
    expect(state.events.length).toBeGreaterThan(0)
    const copy = restoreInto(g, JSON.stringify(g.server.snapshot()))
    g.drain()
    copy.drain()
    expect(copy.takeEvents()).toEqual(g.takeEvents())
  })

  it('the store alone round-trips, generation and tx ids included', () => {
    const g = new FakeGuest()
    populate(g)
    g.server.store.transactionStart(0)
    const s = snapshotStore(g.server.store)
    const back = restoreStore(JSON.parse(JSON.stringify(s)), () => undefined)
    expect(snapshotStore(back)).toEqual(s)
    expect(back.nodeCount).toBe(g.server.store.nodeCount)
  })

  it.each([
    ['not an object', () => 3],
    ['wrong version', (s: any) => ({ ...s, version: 2 })],
    [
      'root not first',
      (s: any) => ({ ...s, store: { ...s.store, nodes: s.store.nodes.slice(1) } }),
    ],
    [
      'child before parent',
      (s: any) => ({
        ...s,
        store: { ...s.store, nodes: [s.store.nodes[0], ...s.store.nodes.slice(1).reverse()] },
      }),
    ],
    [
      'bad perm',
      (s: any) => ({
        ...s,
        store: { ...s.store, nodes: [{ ...s.store.nodes[0], perms: ['x0'] }] },
      }),
    ],
    [
      'bad base64',
      (s: any) => ({ ...s, store: { ...s.store, nodes: [{ ...s.store.nodes[0], value: '!!' }] } }),
    ],
    [
      'bad path',
      (s: any) => ({
        ...s,
        store: { ...s.store, nodes: [s.store.nodes[0], { ...s.store.nodes[1], path: 'rel' }] },
      }),
    ],
    [
      'duplicate watch',
      (s: any) => ({
        ...s,
        store: { ...s.store, watches: [...s.store.watches, ...s.store.watches] },
      }),
    ],
    [
      'watch of another domain',
      (s: any) => ({ ...s, store: { ...s.store, watches: [{ domid: 2, path: 'x', token: 't' }] } }),
    ],
    [
      'request longer than its header',
      (s: any) => ({
        ...s,
        connection: { ...s.connection, request: Buffer.alloc(40).toString('base64') },
      }),
    ],
    [
      'response written past its end',
      (s: any) => ({
        ...s,
        connection: { ...s.connection, response: { bytes: 'AAAA', written: 3 } },
      }),
    ],
    [
      'negative dropped count',
      (s: any) => ({ ...s, connection: { ...s.connection, droppedEvents: -1 } }),
    ],
  ])('refuses a snapshot with %s', (_, damage) => {
    const { g } = busyGuest()
    const snap = JSON.parse(JSON.stringify(g.server.snapshot()))
    expect(() =>
      XenstoreServer.restore(damage(snap), { ring: g.page.slice(), notify: () => {} }),
    ).toThrow(XenstoreError)
  })

  it('property: any damaged JSON value restores or throws XenstoreError, nothing else', () => {
    const { g } = busyGuest()
    const base = JSON.stringify(g.server.snapshot())
    fc.assert(
      fc.property(fc.nat(), fc.jsonValue({ maxDepth: 2 }), (at, junk) => {
        const snap = JSON.parse(base)
        // Replace one value somewhere in the tree with junk.
        const slots: [any, string | number][] = []
        const visit = (o: any) => {
          if (o && typeof o === 'object')
            for (const k of Object.keys(o)) {
              slots.push([o, Array.isArray(o) ? Number(k) : k])
              visit(o[k])
            }
        }
        visit(snap)
        const [obj, key] = slots[at % slots.length] as [any, string | number]
        obj[key] = junk
        try {
          XenstoreServer.restore(snap, { ring: g.page.slice(), notify: () => {} })
        } catch (e) {
          if (!(e instanceof XenstoreError)) throw e
        }
      }),
      { numRuns: 300 },
    )
  })
})
