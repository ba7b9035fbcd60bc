import { describe, expect, it } from 'vitest'
import type { Options } from '../lib/args.mjs'
import { kvmUsable, runDirect } from '../lib/direct.mjs'
import { EXIT } from '../lib/errors.mjs'

/** Options for a direct run of `command`. */
function options(command: string[], timeoutSec = 60): Options {
  return {
    command,
    collect: [],
    timeoutSec,
    bootTimeoutSec: 180,
    smp: 2,
    memMiB: 2048,
    forceEmulated: false,
    direct: true,
    verbose: false,
    timings: false,
    keep: false,
    help: false,
  }
}

function ctx() {
  const notes: string[] = []
  return { notes, repoRoot: '/', note: (m: string) => notes.push(m), onAbort: () => {} }
}

describe('kvmUsable', () => {
  it('is false for a device that does not exist', () => {
    expect(kvmUsable('/dev/no-such-kvm')).toBe(false)
  })
})

describe('runDirect', () => {
  it('returns the command exit status', async () => {
    expect(await runDirect(options(['sh', '-c', 'exit 3']), ctx())).toBe(3)
    expect(await runDirect(options(['true']), ctx())).toBe(0)
  })

  it('returns 128 + signal for a command killed by a signal', async () => {
    expect(await runDirect(options(['sh', '-c', 'kill -TERM $$']), ctx())).toBe(128 + 15)
  })

  it('returns 127 with a kvm-host note when the command does not exist', async () => {
    const c = ctx()
    expect(await runDirect(options(['/no/such/command']), c)).toBe(127)
    expect(c.notes[0]).toContain('cannot run /no/such/command')
  })

  it('stops a command that outlives --timeout and returns 124', async () => {
    const c = ctx()
    const code = await runDirect(options(['sh', '-c', 'sleep 30 & sleep 30'], 1), c)
    expect(code).toBe(EXIT.TIMEOUT)
    expect(c.notes).toEqual(['timed out after 1 s'])
  })
})
