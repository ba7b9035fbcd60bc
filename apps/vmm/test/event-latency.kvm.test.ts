// The event latency guest on real KVM, in both delivery modes: every delayed notify of the
// backend reaches the halted guest's upcall handler, none is lost, and none seems to arrive
// before its notify (which would mean the backend's clock and the guest's pvclock disagree).
// How long it takes is a benchmark's business (apps/vmm/bench/event-latency.bench.mjs), not this.
import { describe, expect, it } from 'vitest'
import { guest, tsvmm } from './tsvmm-child.js'

describe('event latency guest', () => {
  for (const delivery of ['kernel', 'user'] as const) {
    it(`${delivery} delivery: 200 delayed notifies wake the halted guest, timed on one clock`, async () => {
      const run = await tsvmm([
        'run',
        guest('latency64.elf'),
        '--delivery',
        delivery,
        '--json',
        '--console',
        'none',
        '--timeout',
        '200',
      ])
      const r = run.results.find((x) => x.name === 'event_latency')
      expect(r, run.stderr).toBeDefined()
      expect(r?.message).toMatch(/^median \d+ ns p99 \d+ ns over 200 \(0 lost, 0 early\)$/)
      expect(r?.passed).toBe(true)
      expect(run.code).toBe(0)
    })
  }
})
