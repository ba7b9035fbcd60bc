// The demo guest on real KVM in every delivery mode and guest width: every named check passes on
// every vCPU, and the VM ends by powering off (exit code 0).
import { describe, expect, it } from 'vitest'
import { CHECKS_FILE } from '../src/cli/demo.js'
import { type CheckList, expectedChecks, loadCheckLists } from '../src/cli/expected-checks.js'
import { guest, tsvmm } from './tsvmm-child.js'

const demo = loadCheckLists(CHECKS_FILE).demo as CheckList

describe.each(['kernel', 'user'] as const)('demo guest, %s delivery', (delivery) => {
  it.each([64, 32])('%i-bit: every check passes on 2 vCPUs', async (width) => {
    const run = await tsvmm([
      'run',
      guest(`demo${width}.elf`),
      '--vcpus',
      '2',
      '--delivery',
      delivery,
      '--json',
      '--console',
      'none',
      '--timeout',
      '100',
    ])
    const failed = run.results
      .filter((r) => !r.passed)
      .map((r) => `vcpu${r.vcpu} ${r.name}: ${r.message}`)
    expect(failed, run.stderr).toEqual([])
    const got = run.results.map((r) => `${r.vcpu}:${r.name}`).sort()
    expect(got).toEqual(expectedChecks(demo, 2, delivery))
    expect(run.end).toMatchObject({ reason: 'poweroff', exitCode: 0, delivery, width, failed: 0 })
    expect(run.code).toBe(0)
  })
})

describe('demo guest, auto delivery on one vCPU', () => {
  it('picks kernel delivery here, presents the Xen version asked for, and passes', async () => {
    const run = await tsvmm([
      'run',
      guest('demo64.elf'),
      '--xen-version',
      '4.13',
      '--json',
      '--console',
      'none',
      '--timeout',
      '100',
    ])
    expect(run.results.filter((r) => !r.passed)).toEqual([])
    // CPUID leaf base+1 and XENVER_version both say 4.13.
    expect(run.results.find((r) => r.name === 'hypercall_page')?.detail).toBe(0x4_000d)
    expect(run.results.find((r) => r.name === 'xen_cpuid')?.message).toMatch(/^Xen 4\.13 /)
    // The checks that need two vCPUs are left out on one.
    expect(run.results.map((r) => `${r.vcpu}:${r.name}`).sort()).toEqual(
      expectedChecks(demo, 1, 'kernel'),
    )
    expect(run.end).toMatchObject({ reason: 'poweroff', delivery: 'kernel', exitCode: 0 })
  })
})
