// The fuzz guest on real KVM: thousands of random hypercalls with random arguments from every vCPU
// at once. tsvmm answers each, keeps delivering events, and the run ends cleanly.
import { describe, expect, it } from 'vitest'
import { guest, tsvmm } from './tsvmm-child.js'

describe.each(['kernel', 'user'] as const)('fuzz guest, %s delivery', (delivery) => {
  it.each([64, 32])(
    '%i-bit: survives random hypercalls and still delivers events',
    async (width) => {
      const run = await tsvmm([
        'run',
        guest(`fuzz${width}.elf`),
        '--vcpus',
        '2',
        '--delivery',
        delivery,
        '--json',
        '--console',
        'none',
        '--timeout',
        '110',
        '--watchdog',
        '30',
      ])
      const names = run.results.map((r) => `${r.vcpu}:${r.name}:${r.passed}`)
      expect(names, run.stderr).toEqual(
        expect.arrayContaining([
          '0:fuzz_hypercalls:true',
          '1:fuzz_hypercalls:true',
          '0:fuzz_all_vcpus:true',
          '0:fuzz_alive:true',
        ]),
      )
      expect(run.results.filter((r) => !r.passed)).toEqual([])
      expect(run.end).toMatchObject({ reason: 'poweroff', exitCode: 0 })
      expect(run.code).toBe(0)
    },
  )
})
