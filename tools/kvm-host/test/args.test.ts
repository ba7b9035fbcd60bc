import { describe, expect, it } from 'vitest'
import { normalizeCollectDir, parseArgs } from '../lib/args.mjs'
import { EXIT, KvmHostError } from '../lib/errors.mjs'

const root = '/repo'

/** The exit code and message of a parse that must fail. */
function failure(argv: string[]): { code: number; message: string } {
  try {
    parseArgs(argv, root)
  } catch (err) {
    expect(err).toBeInstanceOf(KvmHostError)
    const e = err as KvmHostError
    return { code: e.exitCode, message: e.message }
  }
  throw new Error(`parseArgs(${JSON.stringify(argv)}) did not fail`)
}

describe('parseArgs', () => {
  it('gives the documented defaults', () => {
    const o = parseArgs(['--', 'node', '-e', '1'], root)
    expect(o).toMatchObject({
      command: ['node', '-e', '1'],
      collect: [],
      timeoutSec: 1200,
      bootTimeoutSec: 180,
      smp: 2,
      memMiB: 2048,
      forceEmulated: false,
      direct: false,
      verbose: false,
      timings: false,
      keep: false,
    })
  })

  it('accepts the command with or without the -- that pnpm may pass through', () => {
    expect(parseArgs(['node', '-e', '1'], root).command).toEqual(['node', '-e', '1'])
    expect(parseArgs(['--', 'node', '-e', '1'], root).command).toEqual(['node', '-e', '1'])
    expect(parseArgs(['--', '--smp', '1', '--', 'sh'], root)).toMatchObject({
      smp: 1,
      command: ['sh'],
    })
  })

  it('stops at the command: its own options stay its own', () => {
    const o = parseArgs(['--timeout', '5', 'vitest', '--timeout', '9', '--', 'x'], root)
    expect(o.timeoutSec).toBe(5)
    expect(o.command).toEqual(['vitest', '--timeout', '9', '--', 'x'])
    expect(parseArgs(['--', '--', '--help'], root).command).toEqual(['--help'])
  })

  it('reads values after a space or an equals sign, and repeats --collect', () => {
    const o = parseArgs(
      ['--collect', 'test-results', '--collect=out/a', '--mem=512', '--smp', '4', '--', 'true'],
      root,
    )
    expect(o.collect).toEqual(['test-results', 'out/a'])
    expect(o.memMiB).toBe(512)
    expect(o.smp).toBe(4)
  })

  it('turns on timings with --verbose', () => {
    expect(parseArgs(['-v', 'true'], root).timings).toBe(true)
  })

  it('rejects bad usage with the harness exit code', () => {
    for (const argv of [
      [],
      ['--timeout', '5'],
      ['--nope', 'x'],
      ['--timeout', 'soon', 'x'],
      ['--timeout', '0', 'x'],
      ['--smp', '1.5', 'x'],
      ['--mem', '64', 'x'],
      ['--keep=yes', 'x'],
      ['--collect'],
      ['--direct', '--force-emulated', 'x'],
    ])
      expect(failure(argv).code).toBe(EXIT.HARNESS)
    expect(failure(['--nope', 'x']).message).toContain('--nope')
  })

  it('needs no command for --help', () => {
    expect(parseArgs(['--help'], root).help).toBe(true)
  })
})

describe('normalizeCollectDir', () => {
  it('keeps directories inside the repository, relative to its root', () => {
    expect(normalizeCollectDir('test-results', root)).toBe('test-results')
    expect(normalizeCollectDir('./a/b/', root)).toBe('a/b')
    expect(normalizeCollectDir('/repo/a/../c', root)).toBe('c')
  })

  it('refuses the root itself, anything outside, and .git', () => {
    for (const d of ['.', '', '..', '../x', '/etc', 'a/../..', '.git', '.git/hooks'])
      expect(() => normalizeCollectDir(d, root)).toThrow(KvmHostError)
  })
})
