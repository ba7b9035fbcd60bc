// Runs inside the KVM host (`pnpm test:kvm tools/kvm-host`): proves the suites get a real /dev/kvm,
// backed by a hardware-virtualization module, with the repository in place.
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..')

describe('the KVM host', () => {
  it('has /dev/kvm as the misc character device 10:232, open for read and write', () => {
    const st = statSync('/dev/kvm')
    expect(st.isCharacterDevice()).toBe(true)
    // st.rdev = major << 8 | minor for small numbers
    expect([st.rdev >> 8, st.rdev & 0xff]).toEqual([10, 232])
    closeSync(openSync('/dev/kvm', 'r+'))
  })

  it('runs KVM on a hardware-virtualization module (kvm_amd or kvm_intel)', () => {
    const vendor = ['kvm_amd', 'kvm_intel'].filter((m) => existsSync(`/sys/module/${m}`))
    expect(vendor).toHaveLength(1)
    expect(existsSync('/sys/module/kvm')).toBe(true)
  })

  it('runs as root with the repository at its own path', () => {
    expect(process.getuid?.()).toBe(0)
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'))
    expect(pkg.name).toBe('tsvmm')
    expect(existsSync(path.join(repoRoot, 'node_modules', 'vitest'))).toBe(true)
  })
})
