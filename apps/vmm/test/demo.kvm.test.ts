// The demo guest on real KVM in every delivery mode and guest width: every named check passes on
// every vCPU, and the VM ends by powering off (exit code 0).
import { describe, expect, it } from 'vitest'
import { guest, tsvmm } from './tsvmm-child.js'

const PER_VCPU = [
  'xen_cpuid',
  'hypercall_page',
  'shared_info',
  'vcpu_info',
  'upcall_vector',
  'bind_per_vcpu',
  'ipi',
  'virq_timer',
]
const VCPU0 = [
  'set_timer_op',
  'loopback_interdomain',
  'mask_unmask',
  'mask_unmask_remote',
  'close_rebind',
  'backend_irqfd',
  'backend_engine',
  'backend_from_guest',
  'sched_op',
  'error_unknown_hypercall',
  'error_hypercall_past_page',
  'error_evtchn_unknown_op',
  'error_evtchn_fifo',
  'error_send_port0',
  'error_send_out_of_range',
  'error_send_virq',
  'error_bind_virq_twice',
  'error_bind_virq_bad',
  'error_bind_ipi_bad_vcpu',
  'error_evtchn_efault',
  'error_vcpu_op_bad_vcpu',
  'singleshot_past_fires',
  'error_singleshot_other_vcpu',
  'error_upcall_vector_bad',
  'error_hvm_op_unknown',
  'error_memory_op_unknown',
  'error_sched_op_unknown',
  'error_vcpu_op_unknown',
  'alive',
]

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
    const want = [
      ...PER_VCPU.flatMap((n) => [`0:${n}`, `1:${n}`]),
      ...VCPU0.map((n) => `0:${n}`),
    ].sort()
    expect(got).toEqual(want)
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
    expect(run.results.some((r) => r.name === 'mask_unmask_remote')).toBe(false)
    expect(run.end).toMatchObject({ reason: 'poweroff', delivery: 'kernel', exitCode: 0 })
  })
})
