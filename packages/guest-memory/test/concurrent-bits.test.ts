// Atomic bit operations stay exact while other threads write the same 32-bit words: each worker
// flips its own bits of a shared bitmap many times; a plain read-modify-write would lose updates.
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { GuestMemory } from '../src/index.js'

const WORKER = new URL('./fixtures/bit-worker.mjs', import.meta.url)
const BITMAP_GPA = 0x1000
const WORKERS = 4
const ROUNDS = 20_000

function runWorker(data: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: data })
    w.once('message', resolve)
    w.once('error', reject)
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)))
  })
}

describe('atomic bit ops under concurrent writers', () => {
  it('test-and-set/test-and-clear of interleaved bits in the same lanes lose nothing', async () => {
    const sab = new SharedArrayBuffer(0x2000)
    const mem = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(sab) }])
    // Worker w owns bits w, w+WORKERS, ... of the first 128 bits: every lane is shared by all.
    const toggles = await Promise.all(
      Array.from({ length: WORKERS }, (_, w) =>
        runWorker({
          sab,
          gpa: BITMAP_GPA,
          worker: w,
          workers: WORKERS,
          rounds: ROUNDS,
          op: 'toggle',
        }),
      ),
    )
    // Each worker set then cleared each of its bits, checking the old value each time.
    expect(toggles).toEqual(Array(WORKERS).fill(ROUNDS * (128 / WORKERS) * 2))
    for (let bit = 0; bit < 128; bit++) expect(mem.testBit(BITMAP_GPA, bit)).toBe(false)
  })

  it('atomic OR and AND from many threads leave exactly the expected bits', async () => {
    const sab = new SharedArrayBuffer(0x2000)
    const mem = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(sab) }])
    mem.atomicStore32(BITMAP_GPA, 0xffff0000)
    // Worker w ORs in bit w and ANDs out bit 16 + w, ROUNDS times, on one shared lane.
    await Promise.all(
      Array.from({ length: WORKERS }, (_, w) =>
        runWorker({
          sab,
          gpa: BITMAP_GPA,
          worker: w,
          workers: WORKERS,
          rounds: ROUNDS,
          op: 'or-and',
        }),
      ),
    )
    const cleared = ((1 << WORKERS) - 1) << 16
    expect(mem.atomicLoad32(BITMAP_GPA)).toBe(
      ((0xffff0000 & ~cleared) | ((1 << WORKERS) - 1)) >>> 0,
    )
  })

  it('exactly one of many racing test-and-set calls wins each bit', async () => {
    const BITS = 0x800 * 8
    const sab = new SharedArrayBuffer(0x3000)
    const wins = await Promise.all(
      Array.from({ length: WORKERS }, (_, w) =>
        runWorker({ sab, gpa: BITMAP_GPA, worker: w, workers: WORKERS, rounds: BITS, op: 'race' }),
      ),
    )
    // Two bitmaps, each raced for once: the bits are never cleared, so later rounds win nothing.
    expect(wins.reduce((a, b) => a + b, 0)).toBe(2 * BITS)
  })
})
