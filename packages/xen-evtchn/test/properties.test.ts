// Property tests. (1) Random sequences of guest operations and deliveries never lose an event:
// a pending unmasked port is always signalled through its vCPU's selector and upcall, and a guest
// that only runs its handler when notified ends up seeing every event exactly once. (2) Random
// hypercall arguments never throw and never corrupt the engine's state.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DOMID_SELF, EVTCHNOP, validateSnapshot } from '../src/index.js'
import {
  ARG,
  bindIpi,
  evtchnOp,
  type Guest,
  makeGuest,
  RAM_SIZE,
  SHINFO,
  VCPUS,
} from './helpers.js'

const PORTS = 12

type Op =
  | { kind: 'notify'; i: number }
  | { kind: 'mask'; i: number }
  | { kind: 'unmask'; i: number }
  | { kind: 'move'; i: number; vcpu: number }
  | { kind: 'handle'; vcpu: number }
  | { kind: 'register'; vcpu: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant('notify' as const), i: fc.nat(PORTS - 1) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mask' as const), i: fc.nat(PORTS - 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('unmask' as const), i: fc.nat(PORTS - 1) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('move' as const),
      i: fc.nat(PORTS - 1),
      vcpu: fc.nat(VCPUS - 1),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('handle' as const), vcpu: fc.nat(VCPUS - 1) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('register' as const), vcpu: fc.nat(VCPUS - 1) }),
  },
)

/** A guest that handles events the way Linux's 2-level upcall handler does. */
class LinuxGuest {
  readonly events = new Map<number, number>()
  readonly notified = new Set<number>()
  readonly registered = new Set<number>()

  constructor(
    readonly g: Guest,
    readonly bound: Map<number, number>,
  ) {}

  // __xen_evtchn_do_upcall + evtchn_2l_handle_events, for ports bound to this vCPU.
  handle(vcpu: number): void {
    const { memory, view } = this.g
    const vi = view.vcpuInfo(vcpu)
    this.notified.delete(vcpu)
    do {
      memory.writeU8(vi, 0)
      const lanes = view.longMode ? 2 : 1
      let sel = 0n
      for (let l = 0; l < lanes; l++)
        sel |=
          BigInt(memory.atomicExchange32(vi + (view.longMode ? 8 : 4) + 4 * l, 0)) << BigInt(32 * l)
      const bits = view.geometry.wordBits
      for (let w = 0; w < bits; w++) {
        if (!(sel & (1n << BigInt(w)))) continue
        for (let b = 0; b < bits; b++) {
          const port = w * bits + b
          if (this.bound.get(port) !== vcpu || view.masked(port)) continue
          if (memory.testAndClearBit(SHINFO + 0x800, port))
            this.events.set(port, (this.events.get(port) ?? 0) + 1)
        }
      }
    } while (memory.readU8(vi) !== 0)
  }
}

function checkSignalled(guest: LinuxGuest): void {
  const { view, engine } = guest.g
  for (const [port, vcpu] of guest.bound) {
    if (!view.pending(port) || view.masked(port)) continue
    if (!guest.registered.has(vcpu)) {
      // Held in the shadow selector until the vcpu_info exists.
      const [lo, hi] = engine.snapshot().shadowSelectors[vcpu] as [number, number]
      const w = Number(view.word(port))
      expect(((w < 32 ? lo : hi) >>> (w % 32)) & 1, `port ${port} kept for vCPU ${vcpu}`).toBe(1)
      continue
    }
    expect(view.selector(vcpu) & (1n << view.word(port)), `selector for port ${port}`).not.toBe(0n)
    expect(view.upcall(vcpu), `upcall for port ${port}`).toBe(1)
    expect(guest.notified.has(vcpu), `notify for port ${port} on vCPU ${vcpu}`).toBe(true)
  }
}

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('no event is ever lost, %s guest', (_, longMode) => {
  it('holds for random operation sequences', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 150 }),
        fc.array(fc.boolean(), { minLength: VCPUS, maxLength: VCPUS }),
        (ops, early) => {
          const g = makeGuest(longMode, { vcpuInfo: false })
          const bound = new Map<number, number>()
          const guest = new LinuxGuest(g, bound)
          g.notified.length = 0
          // Notify marks the vCPU as having its upcall interrupt pending.
          const origPush = g.notified.push.bind(g.notified)
          g.notified.push = (...v: number[]) => {
            for (const x of v) guest.notified.add(x)
            return origPush(...v)
          }
          const register = (vcpu: number) => {
            if (guest.registered.has(vcpu)) return
            guest.registered.add(vcpu)
            g.engine.setVcpuInfo(vcpu, SHINFO + 64 * vcpu)
          }
          early.forEach((e, v) => {
            if (e) register(v)
          })
          // Half IPIs (fixed vCPU), half backend ports (movable), spread over ports in many words.
          const ports: number[] = []
          const ipi = new Set<number>()
          let delivered = 0
          g.engine.useDelivery((port, vcpu) => {
            const rc = g.engine.setPending(port, vcpu)
            if (rc === 1 || rc === -107) delivered++
            return rc
          })
          for (let i = 0; i < PORTS; i++) {
            if (i % 2 === 0) {
              const p = bindIpi(g, i % VCPUS)
              ipi.add(p)
              ports.push(p)
              bound.set(p, i % VCPUS)
            } else {
              const p = g.engine.backendAllocUnbound()
              g.engine.backendBind(p, () => {})
              ports.push(p)
              bound.set(p, 0)
            }
            // Spread the next ports out so they land in different selector words.
            for (let k = 0; k < 37; k++) g.engine.backendAllocUnbound()
          }
          for (const op of ops) {
            const port = 'i' in op ? (ports[op.i] as number) : 0
            switch (op.kind) {
              case 'notify':
                if (ipi.has(port)) evtchnOp(g, 'send', { port })
                else g.engine.backendNotify(port)
                break
              case 'mask':
                g.view.mask(port)
                break
              case 'unmask':
                expect(evtchnOp(g, 'unmask', { port }).rc).toBe(0)
                break
              case 'move':
                if (!ipi.has(port)) {
                  expect(evtchnOp(g, 'bind_vcpu', { port, vcpu: op.vcpu }).rc).toBe(0)
                  bound.set(port, op.vcpu)
                }
                break
              case 'handle':
                // The guest runs its handler only when the upcall was injected.
                if (guest.notified.has(op.vcpu) && guest.registered.has(op.vcpu))
                  guest.handle(op.vcpu)
                break
              case 'register':
                register(op.vcpu)
                break
            }
            checkSignalled(guest)
          }
          // Drain: every vCPU registers, every port is unmasked, notified handlers run.
          for (let v = 0; v < VCPUS; v++) register(v)
          for (const p of ports) evtchnOp(g, 'unmask', { port: p })
          for (let round = 0; round < 3; round++)
            for (const v of [...guest.notified]) guest.handle(v)
          for (const p of ports) expect(g.view.pending(p), `port ${p} left pending`).toBe(false)
          const seen = [...guest.events.values()].reduce((a, b) => a + b, 0)
          expect(seen).toBe(delivered)
        },
      ),
      { numRuns: 200 },
    )
    // Generous: 200 sequences take seconds on a loaded 2-core machine.
  }, 60_000)
})

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('hostile hypercalls, %s guest', (_, longMode) => {
  const u32 = fc.oneof(
    fc.nat(8),
    fc.nat(40),
    fc.nat(1100),
    fc.nat(5000),
    fc.constant(0x7ff0),
    fc.constant(0xffffffff),
  )
  const call = fc.record({
    cmd: fc.oneof(fc.nat(15), fc.integer(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
    gpa: fc.oneof(
      fc.constant(ARG),
      fc.integer({ min: RAM_SIZE - 30, max: RAM_SIZE + 10 }),
      fc.integer(),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    ),
    words: fc.array(u32, { minLength: 6, maxLength: 6 }),
    vcpu: fc.oneof(fc.nat(VCPUS), fc.integer()),
    kind: fc.constantFrom('evtchn', 'vcpu_op', 'timer'),
  })

  it('never throw and keep the port table consistent', () => {
    fc.assert(
      fc.property(fc.array(call, { maxLength: 80 }), (calls) => {
        const g = makeGuest(longMode)
        for (const c of calls) {
          // Domain fields (u16) get DOMID_SELF or junk; the rest are the random words.
          c.words.forEach((w, k) => {
            const at = ARG + 4 * k
            if (at + 4 <= RAM_SIZE) g.memory.writeU32(at, w >>> 0)
          })
          if (c.words[0] === 0x7ff0) g.memory.writeU32(ARG, DOMID_SELF | (DOMID_SELF << 16))
          let rc: number
          if (c.kind === 'evtchn') rc = g.engine.hypercall(c.cmd, c.gpa, c.vcpu)
          else if (c.kind === 'vcpu_op') rc = g.engine.vcpuOp(c.cmd, c.words[1] ?? 0, c.gpa, c.vcpu)
          else rc = g.engine.setTimerOp(c.vcpu, typeof c.cmd === 'bigint' ? c.cmd : c.cmd * 1000)
          expect(Number.isInteger(rc)).toBe(true)
          expect(rc).toBeLessThanOrEqual(0)
          g.clock.advance(5000)
        }
        // State still self-consistent: the snapshot validates and restores.
        expect(() =>
          validateSnapshot(JSON.parse(JSON.stringify(g.engine.snapshot()))),
        ).not.toThrow()
        // And the engine still works.
        expect(g.engine.hypercall(EVTCHNOP.reset, ARG, 0)).toBeLessThanOrEqual(0)
        g.memory.writeU16(ARG, DOMID_SELF)
        expect(g.engine.hypercall(EVTCHNOP.reset, ARG, 0)).toBe(0)
        expect(g.engine.openPorts()).toEqual([])
      }),
      { numRuns: 300 },
    )
  }, 60_000)
})
