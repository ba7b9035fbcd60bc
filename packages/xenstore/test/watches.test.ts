// Watches: registration fires once, changes fire on the node and its ancestors, removals on
// every removed node, events come relative if the watch was, and only for readable nodes.
import { describe, expect, it } from 'vitest'
import { XsType } from '../src/index.js'
import { FakeGuest, populate } from './helpers.js'

function guest() {
  const g = new FakeGuest()
  populate(g)
  return g
}
const write = (g: FakeGuest, path: string, v = '') =>
  g.raw(XsType.WRITE, Buffer.from(`${path}\0${v}`))

describe('watches', () => {
  it('a new watch fires once straight away with the path as given', () => {
    const g = guest()
    expect(g.do('WATCH', ['data', 'tok'])).toBe('OK')
    expect(g.takeEvents()).toEqual([['data', 'tok']])
    expect(g.do('WATCH', ['/local/domain/1/device', 't2'])).toBe('OK')
    expect(g.takeEvents()).toEqual([['/local/domain/1/device', 't2']])
  })

  it('the event comes after the WATCH reply', () => {
    const g = guest()
    g.push(
      Buffer.from([4, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, ...Buffer.from('data\0t\0')]),
    )
    g.drain()
    const replies = g.messages()
    expect(replies.map((m) => m.reqId)).toEqual([9])
    expect(g.events).toEqual([['data', 't']])
  })

  it('a write fires watches on the node and its ancestors, with the written path', () => {
    const g = guest()
    g.do('WATCH', ['data', 'rel'])
    g.do('WATCH', ['/local/domain/1/data/a', 'abs'])
    g.do('WATCH', ['data/a/b/c', 'deeper'])
    g.takeEvents()
    write(g, 'data/a/b', 'x')
    expect(g.takeEvents()).toEqual([
      ['data/a/b', 'rel'],
      ['/local/domain/1/data/a/b', 'abs'],
    ])
  })

  it('rm fires watches set on each removed node, and on the removed node and its ancestors', () => {
    const g = guest()
    write(g, 'data/a/b/c')
    write(g, 'data/a/d')
    g.do('WATCH', ['data/a/b/c', 'c'])
    g.do('WATCH', ['data/a/d', 'd'])
    g.do('WATCH', ['data/a/nonexistent', 'n'])
    g.do('WATCH', ['data', 'top'])
    g.takeEvents()
    g.do('RM', ['data/a'])
    const ev = g.takeEvents()
    expect(ev).toHaveLength(3)
    expect(ev).toEqual(
      expect.arrayContaining([
        ['data/a/b/c', 'c'],
        ['data/a/d', 'd'],
        ['data/a', 'top'],
      ]),
    )
  })

  it('SET_PERMS and MKDIR of a new node fire; MKDIR of an existing node does not', () => {
    const g = guest()
    write(g, 'data/p')
    g.do('WATCH', ['data/p', 'p'])
    g.takeEvents()
    g.do('SET_PERMS', ['data/p', 'n1', 'r0'])
    g.do('MKDIR', ['data/p'])
    g.do('MKDIR', ['data/p/q'])
    expect(g.takeEvents()).toEqual([
      ['data/p', 'p'],
      ['data/p/q', 'p'],
    ])
  })

  it('host changes fire guest watches and the guest is notified', () => {
    const g = guest()
    g.do('WATCH', ['control/shutdown', 'sd'])
    g.takeEvents()
    const before = g.notifications
    g.server.store.write(0, 0, '/local/domain/1/control/shutdown', 'poweroff')
    expect(g.notifications).toBeGreaterThan(before)
    expect(g.takeEvents()).toEqual([['control/shutdown', 'sd']])
  })

  it('no event for a node the guest cannot read', () => {
    const g = guest()
    g.do('WATCH', ['/local', 'l'])
    g.takeEvents()
    g.server.store.write(0, 0, '/local/secret', 'x')
    g.server.store.write(0, 0, '/local/domain/1/domid', '1') // readable (r1)
    expect(g.takeEvents()).toEqual([['/local/domain/1/domid', 'l']])
  })

  it('a watch on / sees every change it may read (xenstored)', () => {
    const g = guest()
    g.do('WATCH', ['/', 'root'])
    g.takeEvents()
    write(g, 'data/z')
    expect(g.takeEvents()).toEqual([['/local/domain/1/data/z', 'root']])
  })

  it('duplicate watch is EEXIST; UNWATCH removes it; unknown UNWATCH is ENOENT', () => {
    const g = guest()
    g.do('WATCH', ['data', 't'])
    expect(g.do('WATCH', ['/local/domain/1/data', 't'])).toBe('EEXIST')
    expect(g.do('WATCH', ['data', 'u'])).toBe('OK')
    expect(g.do('UNWATCH', ['data', 't'])).toBe('OK')
    expect(g.do('UNWATCH', ['data', 't'])).toBe('ENOENT')
    g.takeEvents()
    write(g, 'data/y')
    expect(g.takeEvents()).toEqual([['data/y', 'u']])
  })

  it('special @ paths can be watched; bad watch paths are EINVAL', () => {
    const g = guest()
    expect(g.do('WATCH', ['@releaseDomain', 'r'])).toBe('OK')
    expect(g.takeEvents()).toEqual([['@releaseDomain', 'r']])
    expect(g.do('WATCH', ['@', 'r'])).toBe('EINVAL')
    expect(g.do('WATCH', ['a//b', 'r'])).toBe('EINVAL')
  })

  it('RESET_WATCHES drops the guest watches and transactions, not the host ones', () => {
    const g = guest()
    const host: string[] = []
    g.server.store.watch(0, '/local/domain/1/data', 'h', (p) => host.push(p))
    g.do('WATCH', ['data', 't'])
    const tx = g.do('TRANSACTION_START', [''])
    expect(g.do('RESET_WATCHES', [''])).toBe('OK')
    g.takeEvents()
    write(g, 'data/w')
    expect(g.takeEvents()).toEqual([])
    expect(host).toEqual(['/local/domain/1/data', '/local/domain/1/data/w'])
    expect(g.do('READ', ['data/w'], Number(tx))).toBe('ENOENT')
  })

  it('the watch quota is E2BIG (xenstored), and freed by UNWATCH', () => {
    const g = new FakeGuest()
    populate(g)
    for (let i = 0; i < 128; i++) expect(g.do('WATCH', ['data', `t${i}`])).toBe('OK')
    expect(g.do('WATCH', ['data', 'one-more'])).toBe('E2BIG')
    g.do('UNWATCH', ['data', 't0'])
    expect(g.do('WATCH', ['data', 'one-more'])).toBe('OK')
  })

  it('events past maxPendingEvents are dropped and counted, never queued without bound', () => {
    const g = guest()
    g.do('WATCH', ['data', 't'])
    g.takeEvents()
    // The guest stops reading its response ring; the host keeps writing.
    for (let i = 0; i < 3000; i++) g.server.store.write(0, 0, '/local/domain/1/data/x', String(i))
    expect(g.server.droppedEvents).toBeGreaterThan(0)
    const state = g.server.connectionState()
    expect(state.events.length).toBeLessThanOrEqual(1024)
    g.drain()
    expect(g.takeEvents().length).toBe(3000 - g.server.droppedEvents)
  })
})
