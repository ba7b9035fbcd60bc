// Property tests on random message streams: the store agrees with a plain map model, every
// request gets exactly one reply carrying its req_id, in order, however the bytes are split
// across kicks, and no stream of messages makes the server throw or lose count of its nodes.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { joinFields, XsType } from '../src/index.js'
import { countNodes } from '../src/tree.js'
import { FakeGuest, header, populate, strings } from './helpers.js'

const name = fc.constantFrom('a', 'b', 'c')
const relPath = fc.array(name, { minLength: 1, maxLength: 3 }).map((p) => `data/${p.join('/')}`)

type Op =
  | { op: 'write'; path: string; value: string }
  | { op: 'rm' | 'read' | 'mkdir' | 'dir'; path: string }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('write' as const),
    path: relPath,
    value: fc.string({ maxLength: 8 }),
  }),
  fc.record({
    op: fc.constantFrom('rm' as const, 'read' as const, 'mkdir' as const, 'dir' as const),
    path: relPath,
  }),
)

/** The model: a map of path to value, with implicit parents as xenstore makes them. */
class Model {
  nodes = new Map<string, string>([['data', '']])
  parents(p: string) {
    const parts = p.split('/')
    return parts.slice(1, -1).map((_, i) => parts.slice(0, i + 2).join('/'))
  }
  apply(o: Op): string {
    const has = this.nodes.has(o.path)
    const parent = o.path.slice(0, o.path.lastIndexOf('/'))
    switch (o.op) {
      case 'write':
        for (const q of this.parents(o.path)) if (!this.nodes.has(q)) this.nodes.set(q, '')
        this.nodes.set(o.path, o.value)
        return 'OK'
      case 'mkdir':
        for (const q of [...this.parents(o.path), o.path])
          if (!this.nodes.has(q)) this.nodes.set(q, '')
        return 'OK'
      case 'rm':
        if (!has) return this.nodes.has(parent) ? 'OK' : 'ENOENT'
        for (const k of [...this.nodes.keys()])
          if (k === o.path || k.startsWith(`${o.path}/`)) this.nodes.delete(k)
        return 'OK'
      case 'read':
        return has ? (this.nodes.get(o.path) as string) : 'ENOENT'
      case 'dir': {
        if (!has) return 'ENOENT'
        const kids = [...this.nodes.keys()]
          .filter((k) => k.startsWith(`${o.path}/`) && !k.slice(o.path.length + 1).includes('/'))
          .map((k) => k.slice(o.path.length + 1))
        return kids.sort().join('|')
      }
    }
  }
}

function run(g: FakeGuest, o: Op): string {
  switch (o.op) {
    case 'write': {
      const r = g.raw(
        XsType.WRITE,
        new Uint8Array([...Buffer.from(`${o.path}\0`), ...Buffer.from(o.value, 'latin1')]),
      )
      return r.type === XsType.ERROR ? (strings(r.payload)[0] as string) : 'OK'
    }
    case 'read': {
      const r = g.raw(XsType.READ, joinFields([o.path]))
      return r.type === XsType.ERROR
        ? (strings(r.payload)[0] as string)
        : Buffer.from(r.payload).toString('latin1')
    }
    case 'rm':
      return g.do('RM', [o.path])
    case 'mkdir':
      return g.do('MKDIR', [o.path])
    case 'dir':
      return g.do('DIRECTORY', [o.path])
  }
}

describe('properties', () => {
  it('the store answers every operation as a plain map model does', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const g = new FakeGuest()
        populate(g)
        const m = new Model()
        for (const o of ops) expect([o, run(g, o)]).toEqual([o, m.apply(o)])
        expect(g.server.store.nodeCount).toBe(countNodes(g.server.store.root))
      }),
      { numRuns: 150 },
    )
  })

  it('an aborted transaction leaves the store as it was; a committed one as if done live', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 15 }),
        fc.array(op, { maxLength: 15 }),
        (before, inside) => {
          const g = new FakeGuest()
          populate(g)
          for (const o of before) run(g, o)
          const snap = JSON.stringify(g.server.snapshot().store.nodes)
          const tx = Number(g.do('TRANSACTION_START', ['']))
          const live = new FakeGuest()
          populate(live)
          for (const o of before) run(live, o)
          for (const o of inside) {
            const t = { ...o }
            const r = g.raw(
              {
                write: XsType.WRITE,
                rm: XsType.RM,
                read: XsType.READ,
                mkdir: XsType.MKDIR,
                dir: XsType.DIRECTORY,
              }[o.op],
              o.op === 'write'
                ? Buffer.from(`${o.path}\0${o.value}`, 'latin1')
                : joinFields([o.path]),
              tx,
            )
            const inTx = r.type === XsType.ERROR ? strings(r.payload)[0] : 'x'
            const outside = run(live, t)
            expect(inTx === 'ENOENT' || inTx === 'EACCES').toBe(
              outside === 'ENOENT' || outside === 'EACCES',
            )
          }
          expect(JSON.stringify(g.server.snapshot().store.nodes)).toBe(snap)
          expect(g.do('TRANSACTION_END', ['T'], tx)).toBe('OK')
          expect(JSON.stringify(g.server.snapshot().store.nodes)).toBe(
            JSON.stringify(live.server.snapshot().store.nodes),
          )
        },
      ),
      { numRuns: 100 },
    )
  })

  // Random headers and payloads: any type, tx ids small and large, payload bytes from an alphabet
  // that makes near-valid paths likely.
  const message = fc.record({
    type: fc.oneof(fc.integer({ min: 0, max: 24 }), fc.nat()),
    txId: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 }), fc.nat()),
    payload: fc
      .uint8Array({ maxLength: 64 })
      .map((b) => b.map((x) => [0, 47, 97, 98, 100, 49, 84, 70, 110, 114][x % 10] as number)),
  })

  it('every request gets exactly one reply with its req_id, in order, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 300 })),
        (msgs, cuts) => {
          const g = new FakeGuest()
          populate(g)
          const stream: number[] = []
          for (const [i, m] of msgs.entries())
            stream.push(...header(m.type, 1000 + i, m.txId, m.payload.length), ...m.payload)
          const bytes = Uint8Array.from(stream)
          let at = 0
          for (let i = 0; at < bytes.length; i++) {
            const n = cuts.length ? (cuts[i % cuts.length] as number) : bytes.length
            g.push(bytes.subarray(at, at + n))
            at += n
          }
          g.drain()
          const replies = g.messages()
          expect(replies.map((r) => r.reqId)).toEqual(msgs.map((_, i) => 1000 + i))
          for (const r of replies) expect(r.payload.length).toBeLessThanOrEqual(4096)
          for (const [p] of g.events) expect(p.length).toBeGreaterThan(0)
          expect(g.server.ringFailed).toBe(false)
          expect(g.server.store.nodeCount).toBe(countNodes(g.server.store.root))
          expect(g.server.store.nodeCount).toBeLessThanOrEqual(1000)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('error replies carry one of the xsd_errors names, NUL-terminated', () => {
    const names = new Set([
      'EINVAL',
      'EACCES',
      'EEXIST',
      'ENOENT',
      'ENOSPC',
      'ENOSYS',
      'EAGAIN',
      'E2BIG',
      'EPERM',
    ])
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 20 }), (msgs) => {
        const g = new FakeGuest()
        populate(g)
        for (const m of msgs) {
          const r = g.raw(m.type, m.payload, m.txId)
          if (r.type === XsType.ERROR) {
            expect(r.payload[r.payload.length - 1]).toBe(0)
            expect(names.has(strings(r.payload)[0] as string)).toBe(true)
          }
        }
      }),
      { numRuns: 200 },
    )
  })
})
