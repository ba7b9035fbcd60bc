// The fuzz guest on real KVM: thousands of random hypercalls with random arguments from every vCPU
// at once. tsvmm answers each with a result Xen gives for that op (the guest checks them), no
// handler throws (tsvmm counts those as bugs), events still flow, and the run ends cleanly.
import { describe, expect, it } from 'vitest'
import { CHECKS_FILE } from '../src/cli/demo.js'
import { type CheckList, expectedChecks, loadCheckLists } from '../src/cli/expected-checks.js'
import { guest, tsvmm } from './tsvmm-child.js'

const fuzz = loadCheckLists(CHECKS_FILE).fuzz as CheckList

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
      // One comparison, so that a failing run shows every way it failed at once.
      expect(
        {
          checks: run.results.map((r) => `${r.vcpu}:${r.name}`).sort(),
          failed: run.results.filter((r) => !r.passed).map((r) => `${r.name}: ${r.message}`),
          end: run.end,
          code: run.code,
        },
        run.stderr,
      ).toMatchObject({
        checks: expectedChecks(fuzz, 2, delivery),
        failed: [],
        end: { reason: 'poweroff', exitCode: 0, vmmBugs: 0 },
        code: 0,
      })
    },
  )
})
