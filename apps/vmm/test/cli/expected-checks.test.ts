// The demo's counting: the checks each guest owes (tools/guests/checks.json), a missing check
// counted as failed, and a run that ends badly counted as one more failure.
import { describe, expect, it } from 'vitest'
import { CHECKS_FILE } from '../../src/cli/demo.js'
import {
  type CheckList,
  type ChildRunReport,
  expectedChecks,
  loadCheckLists,
  missingChecks,
  parseCheckLists,
  tallyRun,
} from '../../src/cli/expected-checks.js'
import { VmmError } from '../../src/errors.js'

const list: CheckList = {
  everyVcpu: ['ipi'],
  vcpu0: ['alive'],
  vcpu0WithSeveral: ['remote'],
  vcpu0KernelDelivery: ['poll'],
  vcpu0UserDelivery: ['yield'],
}
const pass = (vcpu: number, name: string) => ({ vcpu, name, passed: true })
const poweroff = { exitCode: 0, message: 'the guest powered off' }
const run = (over: Partial<ChildRunReport>): ChildRunReport => ({
  results: [],
  end: poweroff,
  stderr: '',
  status: 0,
  ...over,
})

describe('expectedChecks', () => {
  it('asks every vCPU for its checks and vCPU 0 for the rest', () => {
    expect(expectedChecks(list, 1, 'kernel')).toEqual(['0:alive', '0:ipi', '0:poll'])
    expect(expectedChecks(list, 2, 'user')).toEqual([
      '0:alive',
      '0:ipi',
      '0:remote',
      '0:yield',
      '1:ipi',
    ])
  })

  it('refuses a vCPU count that is not a positive integer', () => {
    for (const n of [0, -1, 1.5, Number.NaN])
      expect(() => expectedChecks(list, n, 'kernel')).toThrow(VmmError)
    expect(() => expectedChecks(list, 1, 'auto' as 'kernel')).toThrow(VmmError)
  })

  it('the real lists name the demo and fuzz guests', () => {
    const lists = loadCheckLists(CHECKS_FILE)
    expect(Object.keys(lists).sort()).toEqual(['demo', 'fuzz'])
    expect(lists.demo?.vcpu0).toContain('alive')
    // The fuzz guest runs the normal Xen set-up first, so it owes the set-up checks on every vCPU too.
    expect(lists.fuzz?.everyVcpu).toEqual([
      'xen_cpuid',
      'hypercall_page',
      'shared_info',
      'vcpu_info',
      'upcall_vector',
      'fuzz_hypercalls',
    ])
  })
})

describe('parseCheckLists', () => {
  it('names the guest whose list is malformed', () => {
    expect(() => parseCheckLists('{"demo": {"everyVcpu": ["a"]}}', 'x.json')).toThrow(/"demo"/)
    expect(() => parseCheckLists('[]', 'x.json')).toThrow(VmmError)
    expect(() => parseCheckLists('{', 'x.json')).toThrow(/not JSON/)
    expect(() => parseCheckLists(JSON.stringify({ g: { ...list, everyVcpu: [''] } }), 'x')).toThrow(
      VmmError,
    )
  })

  it('a missing file is a VmmError, not an ENOENT from deep inside', () => {
    expect(() => loadCheckLists('/nonexistent/checks.json')).toThrow(VmmError)
  })
})

describe('tallyRun', () => {
  const expected = expectedChecks(list, 2, 'kernel')
  const all = [pass(0, 'ipi'), pass(1, 'ipi'), pass(0, 'alive'), pass(0, 'remote'), pass(0, 'poll')]

  it('a run with every check passed and a clean power-off adds no failure', () => {
    expect(tallyRun(run({ results: all }), expected)).toEqual({
      passed: 5,
      failed: 0,
      lines: ['ok: the guest powered off'],
    })
  })

  it('counts a check the guest never reported as failed', () => {
    const t = tallyRun(run({ results: all.filter((r) => r.vcpu !== 1) }), expected)
    expect(t).toMatchObject({ passed: 4, failed: 1 })
    expect(t.lines).toContain('FAIL missing: 1:ipi')
    expect(missingChecks(expected, [])).toEqual(expected)
  })

  it('a guest that reports nothing and powers off fails every check it owed', () => {
    expect(tallyRun(run({}), expected)).toMatchObject({ passed: 0, failed: 5 })
  })

  it('counts a failed check, and the run that ended with exit code 1, each as a failure', () => {
    const results = [
      ...all.slice(0, 3),
      { vcpu: 0, name: 'remote', passed: false },
      pass(0, 'poll'),
    ]
    const t = tallyRun(
      run({ results, status: 1, end: { exitCode: 1, message: 'poweroff; 1 check(s) failed' } }),
      expected,
    )
    expect(t).toMatchObject({ passed: 4, failed: 2 })
    expect(t.lines).toEqual(['FAIL run: poweroff; 1 check(s) failed'])
  })

  it('a crash with no end line counts the missing checks and the run, and shows stderr', () => {
    const t = tallyRun(
      run({ results: all.slice(0, 2), status: 3, end: undefined, stderr: 'a\nb\nlast words\n' }),
      expected,
    )
    expect(t).toMatchObject({ passed: 2, failed: 4 })
    expect(t.lines).toEqual([
      'FAIL missing: 0:alive, 0:poll, 0:remote',
      'FAIL run: exit 3',
      'a\nb\nlast words',
    ])
  })
})
