// `tsvmm demo` end to end with its `tsvmm run` children replaced by scripted ones: a check a
// guest never reports fails the demo (issue 16: "`pnpm demo` fails when a check goes missing").
// expected-checks.test.ts proves the counting; this proves demoCommand applies it to every run.
import { EventEmitter } from 'node:events'
import { PassThrough } from 'node:stream'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { DemoOptions } from '../../src/cli/args.js'
import { CHECKS_FILE, demoCommand } from '../../src/cli/demo.js'
import { type CheckList, expectedChecks, loadCheckLists } from '../../src/cli/expected-checks.js'
import { EXIT } from '../../src/errors.js'

/** What each scripted child leaves out, by delivery mode ("vcpu:name"). */
let omit: Record<string, string[]> = {}

vi.mock('node:fs', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:fs')>()),
  // The guest images need not be built for this test: no child runs them.
  existsSync: () => true,
}))

vi.mock('node:child_process', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:child_process')>()),
  // A `tsvmm run --json` child that reports every check the demo guest owes, but those in
  // `omit`, all passed, then a clean power-off.
  spawn: (_cmd: string, argv: string[]) => {
    const arg = (flag: string) => argv[argv.indexOf(flag) + 1] as string
    const delivery = arg('--delivery') as 'kernel' | 'user'
    const list = loadCheckLists(CHECKS_FILE).demo as CheckList
    const child = Object.assign(new EventEmitter(), {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    })
    setImmediate(() => {
      for (const c of expectedChecks(list, Number(arg('--vcpus')), delivery)) {
        if (omit[delivery]?.includes(c)) continue
        const [vcpu, name] = c.split(':')
        const r = { type: 'result', vcpu: Number(vcpu), name, passed: true, detail: 0, message: '' }
        child.stdout.write(`${JSON.stringify(r)}\n`)
      }
      const end = { type: 'end', exitCode: 0, reason: 'poweroff', message: 'powered off' }
      child.stdout.end(`${JSON.stringify(end)}\n`)
      child.stderr.end()
      child.stdout.on('close', () => child.emit('close', 0, null))
    })
    return child
  },
}))

const options: DemoOptions = {
  deliveries: ['kernel', 'user'],
  widths: [64],
  vcpus: 2,
  fuzz: false,
  linux: false,
  here: true,
  timeoutSec: 10,
}

async function demo(): Promise<{ code: number; out: string }> {
  let out = ''
  const code = await demoCommand(options, {
    stdout: (t) => {
      out += t
    },
    stderr: () => {},
  })
  return { code, out }
}

describe('tsvmm demo', () => {
  beforeEach(() => {
    omit = {}
  })

  it('passes when every run reports every check it owes', async () => {
    const { code, out } = await demo()
    const list = loadCheckLists(CHECKS_FILE).demo as CheckList
    const owed = expectedChecks(list, 2, 'kernel').length + expectedChecks(list, 2, 'user').length
    expect(out).toContain(`${owed} passed, 0 failed\n`)
    expect(code).toBe(EXIT.OK)
  })

  it('fails when one run leaves out a check, and names it', async () => {
    omit = { user: ['1:ipi'] }
    const { code, out } = await demo()
    expect(out).toContain('FAIL missing: 1:ipi\n')
    expect(out).toMatch(/ 1 failed\n$/)
    expect(code).toBe(EXIT.GUEST_FAILED)
  })

  it('fails when the first run of several leaves out a check', async () => {
    omit = { kernel: ['0:poll_bad_ports'] }
    const { code, out } = await demo()
    expect(out).toContain('FAIL missing: 0:poll_bad_ports\n')
    expect(out).toMatch(/ 1 failed\n$/)
    expect(code).toBe(EXIT.GUEST_FAILED)
  })
})
