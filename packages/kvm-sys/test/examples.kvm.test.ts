// The README's runnable examples, run as they are on real KVM.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const run = (file: string) =>
  execFileSync(process.execPath, [fileURLToPath(new URL(`../examples/${file}`, import.meta.url))], {
    encoding: 'utf8',
    timeout: 60_000,
  })

describe('README examples', () => {
  it('tiny-guest.mjs boots a guest that prints Hi', () => {
    expect(run('tiny-guest.mjs')).toBe('Hi\n')
  })

  it('vcpu-thread.mjs runs a vCPU in a worker and kicks it from the main thread', () => {
    expect(run('vcpu-thread.mjs')).toMatch(
      /^vCPU 0 left KVM_RUN: KVM_EXIT_INTR \(kicked\), guest counter [1-9]\d*\n$/,
    )
  })
})
