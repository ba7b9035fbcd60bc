// The CLI as a caller sees it, for the paths that need no KVM host.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { EXIT } from '../lib/errors.mjs'

const cli = path.resolve(import.meta.dirname, '..', 'cli.mjs')
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' })

describe('kvm-host CLI', () => {
  it('prints usage on --help and exits 0', () => {
    const r = run('--help')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('usage: kvm-host [options] -- <command> [args...]')
  })

  it('fails bad usage with 125 and one kvm-host: line plus a hint, nothing on stdout', () => {
    const r = run('--smp', 'lots', '--', 'true')
    expect(r.status).toBe(EXIT.HARNESS)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      "kvm-host: --smp wants a whole number, got 'lots'\nkvm-host: hint: see `kvm-host --help`\n",
    )
  })

  it('refuses a --collect outside the repository', () => {
    const r = run('--collect', '../elsewhere', '--', 'true')
    expect(r.status).toBe(EXIT.HARNESS)
    expect(r.stderr).toContain('must name a directory inside the repository')
  })
})
