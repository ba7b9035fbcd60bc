// Guests that misbehave on real KVM: each ends with a clear message and the documented exit code,
// and never leaves tsvmm running.
import { describe, expect, it } from 'vitest'
import { CHECKS_FILE } from '../src/cli/demo.js'
import { type CheckList, expectedChecks, loadCheckLists } from '../src/cli/expected-checks.js'
import { guest, tsvmm } from './tsvmm-child.js'

const lists = loadCheckLists(CHECKS_FILE)
const names = (run: { results: { vcpu: number; name: string }[] }) =>
  run.results.map((r) => `${r.vcpu}:${r.name}`).sort()

describe('misbehaving guests', () => {
  it('a triple fault stops the VM with exit code 3', async () => {
    const run = await tsvmm(['run', guest('triple-fault64.elf'), '--timeout', '60'])
    expect(run.stdout).toContain('triple-fault guest: faulting now')
    expect(run.stderr).toMatch(/vCPU 0 triple-faulted \(KVM_EXIT_SHUTDOWN\)/)
    expect(run.code).toBe(3)
  })

  it('a guest that spins without exits is stopped by the watchdog', async () => {
    const run = await tsvmm(['run', guest('spin64.elf'), '--watchdog', '3', '--timeout', '60'])
    expect(run.stdout).toContain('spin guest: spinning now')
    expect(run.stderr).toMatch(/the guest stopped answering: no vCPU exited to tsvmm for 3 s/)
    expect(run.code).toBe(3)
  })

  it('a guest halted with interrupts off is stopped by the timeout', async () => {
    const run = await tsvmm(['run', guest('hang64.elf'), '--timeout', '3'])
    expect(run.stdout).toContain('hang guest: halting with interrupts off')
    expect(run.stderr).toMatch(/the guest did not finish within 3 s/)
    // Where it was: halted (waiting for an interrupt) with interrupts off.
    expect(run.stderr).toMatch(/vCPU 0 at rip 0x[0-9a-f]+, halted, IF=0/)
    expect(run.code).toBe(3)
  })

  it('Ctrl-C stops a running VM cleanly with exit code 130', async () => {
    let sent = false
    const run = await tsvmm(['run', guest('spin64.elf'), '--vcpus', '2', '--timeout', '60'], {
      onStdout: (text, kill) => {
        if (!sent && text.includes('spinning now')) {
          sent = true
          kill('SIGINT')
        }
      },
    })
    expect(sent).toBe(true)
    expect(run.stderr).toMatch(/stopped by SIGINT/)
    // Both spinning vCPUs are runnable where the signal found them.
    expect(run.stderr).toMatch(
      /vCPU 0 at rip 0x[0-9a-f]+, runnable, IF=\d, vCPU 1 at rip 0x[0-9a-f]+, runnable/,
    )
    expect(run.code).toBe(130)
  })

  it('the fuzz guest with one vCPU also ends well', async () => {
    const run = await tsvmm([
      'run',
      guest('fuzz64.elf'),
      '--json',
      '--console',
      'none',
      '--timeout',
      '100',
    ])
    // Every check it owes, all passed: zero results must not pass.
    expect(names(run), run.stderr).toEqual(expectedChecks(lists.fuzz as CheckList, 1, 'kernel'))
    expect(run.results.filter((r) => !r.passed)).toEqual([])
    expect(run.end).toMatchObject({ reason: 'poweroff', exitCode: 0, vmmBugs: 0 })
    expect(run.code).toBe(0)
  })

  it('a guest that reports a failed check powers off with exit code 1', async () => {
    const run = await tsvmm([
      'run',
      guest('demo-fail64.elf'),
      '--json',
      '--console',
      'none',
      '--timeout',
      '100',
    ])
    expect(names(run), run.stderr).toEqual(
      [...expectedChecks(lists.demo as CheckList, 1, 'kernel'), '0:planted_failure'].sort(),
    )
    expect(run.results.filter((r) => !r.passed).map((r) => r.name)).toEqual(['planted_failure'])
    expect(run.end).toMatchObject({ reason: 'poweroff', exitCode: 1, failed: 1 })
    expect(run.code).toBe(1)
  })

  it('a guest that crashes in the middle of its run stops with exit code 1', async () => {
    const run = await tsvmm([
      'run',
      guest('demo-crash64.elf'),
      '--json',
      '--console',
      'none',
      '--timeout',
      '100',
    ])
    // The checks before the crash passed, its exception handler reported the fault, and the
    // checks after it never ran.
    const got = names(run)
    expect(got, run.stderr).toEqual(expect.arrayContaining(['0:ipi', '0:loopback_interdomain']))
    expect(run.results.filter((r) => !r.passed).map((r) => r.name)).toEqual(['exception'])
    expect(got).not.toContain('0:alive')
    expect(run.end).toMatchObject({ reason: 'crash', exitCode: 1 })
    expect(run.code).toBe(1)
  })
})

describe('tsvmm caps on a KVM with Xen support', () => {
  it('reports every kernel path available and picks kernel delivery', async () => {
    const run = await tsvmm(['caps', '--json'])
    const report = JSON.parse(run.stdout) as {
      kvm: { available: boolean }
      autoDelivery: string
      offload: { path: string; kernel: boolean }[]
    }
    expect(report.kvm.available).toBe(true)
    expect(report.autoDelivery).toBe('kernel')
    expect(report.offload.filter((o) => o.path !== 'runstate areas').every((o) => o.kernel)).toBe(
      true,
    )
    expect(run.code).toBe(0)
  })
})
