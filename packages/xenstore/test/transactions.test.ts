// Transactions: isolation both ways, EAGAIN when the store changed, watches only on commit,
// the per-guest cap, and ids that belong to the domain that opened them.
import { describe, expect, it } from 'vitest'
import { XsType } from '../src/index.js'
import { FakeGuest, populate } from './helpers.js'

function guest() {
  const g = new FakeGuest()
  populate(g)
  return g
}
const write = (g: FakeGuest, path: string, v: string, tx = 0) =>
  g.raw(XsType.WRITE, Buffer.from(`${path}\0${v}`), tx)
const start = (g: FakeGuest) => Number(g.do('TRANSACTION_START', ['']))

describe('transactions', () => {
  it('TRANSACTION_START returns a decimal id; the reply echoes tx_id 0', () => {
    const g = guest()
    const r = g.raw(XsType.TRANSACTION_START, new Uint8Array([0]))
    expect(r.type).toBe(XsType.TRANSACTION_START)
    expect(r.txId).toBe(0)
    expect(Buffer.from(r.payload).toString()).toMatch(/^[1-9][0-9]*\0$/)
  })

  it('writes in a transaction are invisible outside until commit, then visible', () => {
    const g = guest()
    const tx = start(g)
    write(g, 'data/a', '1', tx)
    expect(g.do('READ', ['data/a'], tx)).toBe('1')
    expect(g.do('READ', ['data/a'])).toBe('ENOENT')
    expect(g.do('TRANSACTION_END', ['T'], tx)).toBe('OK')
    expect(g.do('READ', ['data/a'])).toBe('1')
  })

  it('changes outside are invisible inside (snapshot isolation)', () => {
    const g = guest()
    write(g, 'data/a', 'old')
    const tx = start(g)
    g.server.store.write(0, 0, '/local/domain/1/data/a', 'new')
    expect(g.do('READ', ['data/a'], tx)).toBe('old')
  })

  it('a commit after any intervening change is EAGAIN and applies nothing', () => {
    const g = guest()
    const tx = start(g)
    write(g, 'data/mine', 'x', tx)
    write(g, 'data/other', 'y') // unrelated path: still a conflict, as QEMU and xenstore.txt
    expect(g.do('TRANSACTION_END', ['T'], tx)).toBe('EAGAIN')
    expect(g.do('READ', ['data/mine'])).toBe('ENOENT')
    expect(g.do('TRANSACTION_END', ['T'], tx)).toBe('ENOENT') // the id is gone either way
  })

  it('the first of two overlapping transactions to commit wins', () => {
    const g = guest()
    const a = start(g)
    const b = start(g)
    write(g, 'data/x', 'a', a)
    write(g, 'data/x', 'b', b)
    expect(g.do('TRANSACTION_END', ['T'], b)).toBe('OK')
    expect(g.do('TRANSACTION_END', ['T'], a)).toBe('EAGAIN')
    expect(g.do('READ', ['data/x'])).toBe('b')
  })

  it('abort (F) discards; unknown ids are ENOENT; malformed END is EINVAL', () => {
    const g = guest()
    const tx = start(g)
    write(g, 'data/gone', 'x', tx)
    expect(g.do('TRANSACTION_END', ['F'], tx)).toBe('OK')
    expect(g.do('READ', ['data/gone'])).toBe('ENOENT')
    expect(g.do('READ', ['data'], 999)).toBe('ENOENT')
    const t2 = start(g)
    expect(g.do('TRANSACTION_END', ['X'], t2)).toBe('EINVAL')
    expect(g.do('TRANSACTION_END', ['TT'], t2)).toBe('EINVAL')
    expect(g.do('TRANSACTION_START', [''], t2)).toBe('EINVAL')
    expect(g.do('TRANSACTION_START', ['x'])).toBe('EINVAL')
  })

  it("a guest cannot use or end the host's transaction", () => {
    const g = guest()
    const host = g.server.store.transactionStart(0)
    expect(g.do('READ', ['domid'], host)).toBe('ENOENT')
    expect(g.do('TRANSACTION_END', ['T'], host)).toBe('ENOENT')
    g.server.store.transactionEnd(0, host, false)
  })

  it('watches fire on commit only, once per changed node', () => {
    const g = guest()
    g.do('WATCH', ['data', 'w'])
    g.takeEvents()
    const tx = start(g)
    write(g, 'data/a', '1', tx)
    write(g, 'data/a', '2', tx)
    write(g, 'data/b/c', '3', tx)
    g.do('RM', ['data/b'], tx)
    expect(g.takeEvents()).toEqual([])
    g.do('TRANSACTION_END', ['T'], tx)
    // data/b came and went inside the transaction: outside it nothing changed there. (QEMU also
    // fires for such a node; an event less is the one difference, see differential.test.ts.)
    expect(g.takeEvents()).toEqual([['data/a', 'w']])
  })

  it('no watches fire for an aborted or failed transaction', () => {
    const g = guest()
    g.do('WATCH', ['data', 'w'])
    const tx = start(g)
    write(g, 'data/a', '1', tx)
    g.do('TRANSACTION_END', ['F'], tx)
    g.takeEvents()
    expect(g.takeEvents()).toEqual([])
  })

  it('the guest may hold 10 transactions (ENOSPC past that); ending one frees a slot', () => {
    const g = guest()
    const ids = Array.from({ length: 10 }, () => start(g))
    expect(new Set(ids).size).toBe(10)
    expect(g.do('TRANSACTION_START', [''])).toBe('ENOSPC')
    g.do('TRANSACTION_END', ['F'], ids[0])
    expect(g.do('TRANSACTION_START', [''])).toMatch(/^[0-9]+$/)
  })

  it('node quota counts the transaction copy: ENOSPC inside, the live tree untouched', () => {
    const g = new FakeGuest()
    populate(g)
    const used = g.server.store.nodeCount
    const tx = start(g)
    let last = 'OK'
    for (let i = 0; last === 'OK' && i < 2000; i++) last = g.do('WRITE', [`data/n${i}`], tx)
    expect(last).toBe('ENOSPC')
    expect(g.server.store.nodeCount).toBe(used)
    expect(g.do('TRANSACTION_END', ['T'], tx)).toBe('OK')
    expect(g.server.store.nodeCount).toBe(1000)
  })
})
