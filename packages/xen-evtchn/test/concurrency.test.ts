// The engine delivers from this thread while worker threads play the guest's vCPUs, running
// Linux's upcall handler on the same shared memory (clearing upcall, selector and pending bits)
// whenever the VMM rings their doorbell. Every event must be seen exactly once: a lost wakeup
// or a lost bit leaves a count short, a double take makes one high.
import { Worker } from 'node:worker_threads'
import { GuestMemory } from '@tsvmm/guest-memory'
import { describe, expect, it } from 'vitest'
import { EVTCHNOP, EvtchnEngine } from '../src/index.js'

const GUEST = new URL('./fixtures/guest-vcpu.mjs', import.meta.url)
const SHINFO = 0x10000
const ARG = 0x20000
const VCPUS = 2

interface Result {
  counts: number[]
  handled: number
  wakeups: number
}

function xorshift(seed: number): () => number {
  let s = seed | 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return s >>> 0
  }
}

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('concurrent guest handlers, %s guest', (_, longMode) => {
  it('see every delivered event exactly once', async () => {
    const limit = longMode ? 4096 : 1024
    const sab = new SharedArrayBuffer(0x40000)
    const bell = new SharedArrayBuffer(4 * (VCPUS + 1))
    const doorbell = new Int32Array(bell)
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(sab) }])
    const engine = new EvtchnEngine({
      memory,
      vcpus: VCPUS,
      longMode,
      // The VMM's upcall injection: ring the vCPU's doorbell.
      notify: (v) => {
        Atomics.add(doorbell, v, 1)
        Atomics.notify(doorbell, v)
      },
    })
    engine.setSharedInfo(SHINFO)
    for (let v = 0; v < VCPUS; v++) engine.setVcpuInfo(v, SHINFO + 64 * v)
    // Every port bound to vCPU port % VCPUS, as the guest's handlers assume.
    for (let p = 1; p < limit; p++) expect(engine.backendAllocUnbound(p % VCPUS)).toBe(p)

    const guests = Array.from(
      { length: VCPUS },
      (_, vcpu) =>
        new Promise<Result>((resolve, reject) => {
          const w = new Worker(GUEST, {
            workerData: { sab, bell, vcpu, vcpus: VCPUS, shinfo: SHINFO, longMode, ports: limit },
          })
          w.once('message', resolve)
          w.once('error', reject)
        }),
    )

    const delivered = new Array<number>(limit).fill(0)
    const masked = new Set<number>()
    const rand = xorshift(longMode ? 0x1234 : 0x4321)
    const unmask = (port: number) => {
      memory.writeU32(ARG, port)
      expect(engine.hypercall(EVTCHNOP.unmask, ARG, 0)).toBe(0)
      masked.delete(port)
    }
    // Few hot ports so deliveries race the handlers on the same words; some masking.
    const hot = Array.from({ length: 48 }, () => 1 + (rand() % (limit - 1)))
    for (let i = 0; i < 300_000; i++) {
      const r = rand()
      const port = hot[r % hot.length] as number
      if ((r >>> 8) % 97 === 0 && !masked.has(port)) {
        memory.testAndSetBit(SHINFO + engine.geometry.maskOffset, port)
        masked.add(port)
      } else if ((r >>> 8) % 89 === 0 && masked.has(port)) {
        unmask(port)
      }
      const rc = engine.setPending(port, port % VCPUS)
      // 1: newly pending and signalled; -ENOTCONN: newly pending, masked. Either is one event.
      if (rc === 1 || rc === -107) delivered[port] = (delivered[port] as number) + 1
      else expect(rc).toBe(0)
    }
    for (const port of [...masked]) unmask(port)
    Atomics.store(doorbell, VCPUS, 1)
    for (let v = 0; v < VCPUS; v++) Atomics.notify(doorbell, v)

    const results = await Promise.all(guests)
    const seen = new Array<number>(limit).fill(0)
    for (const r of results)
      r.counts.forEach((c, p) => {
        seen[p] = (seen[p] as number) + c
      })
    expect(seen).toEqual(delivered)
    const total = delivered.reduce((a, b) => a + b, 0)
    expect(total).toBeGreaterThan(1000)
    // Nothing left pending.
    for (const port of hot) expect(engine.portInfo(port).pending).toBe(false)
    // The handlers really ran concurrently with delivery, many times.
    for (const r of results) expect(r.wakeups).toBeGreaterThan(10)
  }, 60_000)
})
