// Guests that misbehave on real KVM: each ends with a clear message and the documented exit code,
// and never leaves tsvmm running.
import { describe, expect, it } from 'vitest'
import { guest, tsvmm } from './tsvmm-child.js'

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
    expect(run.results.filter((r) => !r.passed)).toEqual([])
    expect(run.code).toBe(0)
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
