// The xen-evtchn engine on random guest-facing call sequences (hypercalls with random argument
// memory, set_timer_op, VCPUOPs, sends, VIRQs, time passing), with a snapshot/restore round trip
// every few calls. Guest-facing calls never throw (they return Xen's errno), so ANY exception
// counts as untyped; so does a snapshot that does not restore, or restores to something else.
import { GuestMemory } from '../../../packages/guest-memory/dist/index.js'
import { EVTCHNOP, EvtchnEngine, VCPUOP } from '../../../packages/xen-evtchn/dist/index.js'
import { NASTY_NUMBERS, rng, tally } from '../harness.mjs'

const SHINFO = 0x10000
const ARG = 0x20000
const VCPUS = 4

class Clock {
  time = 0
  #next = 1
  #due = new Map()
  now() {
    return this.time
  }
  schedule(at, fire) {
    const id = this.#next++
    this.#due.set(id, { at, fire })
    return id
  }
  cancel(id) {
    this.#due.delete(id)
  }
  advance(ns) {
    const end = this.time + ns
    for (const [id, d] of [...this.#due].sort((a, b) => a[1].at - b[1].at)) {
      if (d.at > end) break
      this.#due.delete(id)
      this.time = Math.max(this.time, d.at)
      d.fire()
    }
    this.time = end
  }
}

const json = (x) => JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))

export function run(count, seed) {
  const r = rng(seed)
  const t = tally('engine', () => false)
  const memory = new GuestMemory([
    { gpa: 0, bytes: new Uint8Array(new SharedArrayBuffer(0x100000)) },
  ])
  const clock = new Clock()
  const options = { memory, notify: () => {}, clock }
  let engine
  const fresh = () => {
    engine?.dispose()
    engine = new EvtchnEngine({ ...options, vcpus: VCPUS, longMode: r.chance(0.8) })
    engine.setSharedInfo(SHINFO)
    for (let v = 0; v < VCPUS; v++) engine.setVcpuInfo(v, SHINFO + 64 * v)
  }
  fresh()
  const reg = () =>
    r.chance(0.7)
      ? BigInt(r.int(0, 8))
      : r.chance(0.5)
        ? BigInt.asUintN(64, BigInt(r.int(-9, 9)) << BigInt(r.int(0, 63)))
        : r.pick([0n, 1n << 63n, (1n << 64n) - 1n])
  const vcpu = () => (r.chance(0.9) ? r.int(0, VCPUS - 1) : r.pick([VCPUS, -1, 1.5, 2 ** 32]))
  // A register holds a u64, whatever number the draw gave (1.5, NaN, -1 become what a guest could pass).
  const reg64 = (v) => BigInt.asUintN(64, BigInt(Number.isFinite(v) ? Math.trunc(v) : 0))
  const calls = [
    () =>
      engine.hypercall(
        BigInt(r.chance(0.9) ? r.pick(Object.values(EVTCHNOP)) : r.int(0, 40)),
        BigInt(ARG + r.int(-8, 8)),
        vcpu(),
      ),
    () => engine.setTimerOp(vcpu(), reg()),
    () =>
      engine.vcpuOp(
        BigInt(r.chance(0.9) ? r.pick(Object.values(VCPUOP)) : r.int(0, 20)),
        reg64(vcpu()),
        BigInt(ARG),
        vcpu(),
      ),
    () => engine.setPending(r.chance(0.8) ? r.int(0, 64) : r.pick(NASTY_NUMBERS), vcpu()),
    () => engine.guestSend(r.int(0, 64)),
    () => engine.raiseVirq(r.int(0, 30), vcpu()),
    () => clock.advance(r.chance(0.5) ? r.int(0, 1e6) : r.pick([1e9, 2 ** 40, 2 ** 52])),
  ]
  let roundTrips = 0
  for (let i = 0; i < count; i++) {
    if (i === Math.floor(count / 10)) t.warm()
    if (i % 2000 === 0) fresh()
    // Random argument memory: what a hostile guest passes by pointer.
    memory.write(ARG, r.bytes(32))
    if (r.chance(0.5)) memory.writeU32(ARG, r.int(0, 70)) // a plausible port / field
    t.input(() => {
      const rax = r.pick(calls)()
      if (rax !== undefined && typeof rax !== 'number') t.fail(`a call returned ${typeof rax}`)
    })
    if (i % 25 === 24) {
      t.input(() => {
        const snap = engine.snapshot()
        let restored
        try {
          restored = EvtchnEngine.restore(structuredClone(snap), options)
        } catch (e) {
          t.fail(`restore(snapshot()) threw ${e?.name}: ${String(e?.message).slice(0, 120)}`)
          return
        }
        if (json(restored.snapshot()) !== json(snap)) t.fail('restore(snapshot()) differs')
        engine.dispose()
        engine = restored
        roundTrips++
      })
    }
  }
  engine.dispose()
  t.report({ roundTrips })
}
