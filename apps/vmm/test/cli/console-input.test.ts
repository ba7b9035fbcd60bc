// Terminal input to hvc0 (ConsoleForwarder): what does not fit waits and goes in, in order, once
// the guest has read; Ctrl-] is the way out and is never forwarded; reading pauses past the limit
// and resumes. Against a test double of the console and against the real XenConsoleBackend ring.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CONSOLE_ESCAPE, ConsoleForwarder, type ConsoleSink } from '../../src/cli/console-input.js'
import { XENCONS, XenConsoleBackend } from '../../src/xen/console.js'
import { pvFixture } from '../xen/pv-fixture.js'

/** A console test double: takes at most `room` bytes until the test says the guest read them. */
class ConsoleSinkDouble implements ConsoleSink {
  readonly received: number[] = []
  offers = 0
  constructor(public room: number) {}
  input(bytes: Uint8Array): number {
    this.offers++
    const n = Math.min(this.room, bytes.length)
    this.received.push(...bytes.subarray(0, n))
    this.room -= n
    return n
  }
}

function setup(room = 4, limit = 16) {
  const sink = new ConsoleSinkDouble(room)
  const events: string[] = []
  const fwd = new ConsoleForwarder(
    {
      escape: () => events.push('escape'),
      pause: () => events.push('pause'),
      resume: () => events.push('resume'),
    },
    limit,
  )
  return { sink, events, fwd }
}
const bytes = (text: string) => new TextEncoder().encode(text)
const text = (b: number[]) => new TextDecoder().decode(Uint8Array.from(b))

describe('ConsoleForwarder', () => {
  it('keeps what does not fit and sends it, in order, after the guest reads', () => {
    const { sink, fwd } = setup(4)
    fwd.attach(sink)
    fwd.write(bytes('hello'))
    fwd.write(bytes(' world'))
    expect(text(sink.received)).toBe('hell')
    expect(fwd.waiting).toBe(7)
    fwd.flush() // the guest read nothing: nothing more goes in, nothing is lost
    expect(fwd.waiting).toBe(7)
    sink.room = 3
    fwd.flush()
    expect(text(sink.received)).toBe('hello w')
    sink.room = 100
    fwd.flush()
    expect(text(sink.received)).toBe('hello world')
    expect(fwd.waiting).toBe(0)
  })

  it('holds what is typed before the console is up, and nothing after it is gone', () => {
    const { sink, fwd } = setup(100)
    fwd.write(bytes('early'))
    expect(sink.offers).toBe(0)
    fwd.attach(sink)
    expect(text(sink.received)).toBe('early')
    fwd.detach()
    fwd.write(bytes('late'))
    fwd.flush()
    expect(text(sink.received)).toBe('early')
  })

  it('Ctrl-] escapes: bytes before it go in first, none after it; each Ctrl-] is reported', () => {
    const { sink, events } = setup(100)
    const fwd = new ConsoleForwarder({
      escape: () => events.push(`escape after ${sink.received.length}`),
      pause: () => {},
      resume: () => {},
    })
    fwd.attach(sink)
    fwd.write(Uint8Array.from([0x6c, 0x73, 0x03, CONSOLE_ESCAPE, 0x61, CONSOLE_ESCAPE]))
    expect(sink.received).toEqual([0x6c, 0x73, 0x03]) // Ctrl-C (0x03) is the guest's
    expect(events).toEqual(['escape after 3', 'escape after 3'])
    fwd.write(bytes('x'))
    fwd.write(Uint8Array.from([CONSOLE_ESCAPE]))
    expect(sink.received).toEqual([0x6c, 0x73, 0x03])
    expect(events).toHaveLength(3)
  })

  it('pauses reading past the limit and resumes once half has gone in', () => {
    const { sink, fwd, events } = setup(0, 16)
    fwd.attach(sink)
    fwd.write(new Uint8Array(16))
    expect(events).toEqual([])
    fwd.write(new Uint8Array(1))
    expect(events).toEqual(['pause'])
    fwd.write(new Uint8Array(4)) // what the stream had already read still waits, not dropped
    expect(fwd.waiting).toBe(21)
    sink.room = 12
    fwd.flush()
    expect(events).toEqual(['pause']) // 9 waiting: more than half the limit
    sink.room = 1
    fwd.flush()
    expect(events).toEqual(['pause', 'resume'])
    sink.room = 100
    fwd.flush()
    expect(sink.received).toHaveLength(21)
  })

  it('copies each chunk (a stream may reuse its buffer)', () => {
    const { sink, fwd } = setup(0)
    fwd.attach(sink)
    const chunk = bytes('abc')
    fwd.write(chunk)
    chunk.fill(0x7a)
    sink.room = 3
    fwd.flush()
    expect(text(sink.received)).toBe('abc')
  })

  it('any split of writes and any room: the guest gets every byte before Ctrl-], in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 30 }),
        (chunks, rooms) => {
          const { sink, fwd } = setup(0, 64)
          fwd.attach(sink)
          chunks.forEach((c, i) => {
            fwd.write(c)
            sink.room += rooms[i % rooms.length] as number
            fwd.flush()
          })
          sink.room = Number.MAX_SAFE_INTEGER
          fwd.flush()
          const all = chunks.flatMap((c) => [...c])
          const esc = all.indexOf(CONSOLE_ESCAPE)
          expect(sink.received).toEqual(esc < 0 ? all : all.slice(0, esc))
        },
      ),
    )
  })
})

describe('ConsoleForwarder into the real hvc0 in ring', () => {
  it('3000 typed bytes reach the guest through a 1 KiB ring as it reads', () => {
    const f = pvFixture()
    const PAGE = 0x3fe000
    const con = new XenConsoleBackend({
      memory: f.memory,
      gpa: PAGE,
      evtchn: f.evtchn,
      output: () => {},
    })
    const { fwd } = setup(0, 4096)
    fwd.attach(con)
    const typed = Uint8Array.from({ length: 3000 }, (_, i) => 0x20 + ((i * 7) % 95)) // printable
    fwd.write(typed)
    const got: number[] = []
    /** What hvc_xen's domU_read_console does: take in_cons..in_prod, then advance in_cons. */
    const guestRead = () => {
      let cons = f.memory.readU32(PAGE + XENCONS.inCons)
      const prod = f.memory.readU32(PAGE + XENCONS.inProd)
      while (cons !== prod) {
        got.push(f.memory.readU8(PAGE + XENCONS.in + (cons % XENCONS.inSize)))
        cons = (cons + 1) >>> 0
      }
      f.memory.writeU32(PAGE + XENCONS.inCons, cons)
    }
    for (let i = 0; i < 5 && fwd.waiting > 0; i++) {
      guestRead()
      fwd.flush() // the domain's backend poll
    }
    guestRead()
    expect(got).toEqual([...typed])
    expect(f.takePending(con.port)).toBe(true)
    con.close()
  })
})
