// tools/test-results.mjs, the counting behind `pnpm test`'s "N passed, N failed[, N skipped]"
// line, fed with a report that vitest itself wrote for a suite with a pass, a failure, a skip and
// a todo (so the field names are vitest's, not guessed).
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { countResults, summaryLine, tierOutcome } from '../../test-results.mjs'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'tsvmm-test-results-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Runs vitest on one test file and returns its JSON report. */
function vitestReport(name: string, body: string) {
  const sub = join(dir, name)
  const out = join(sub, 'report.json')
  mkdirSync(sub, { recursive: true })
  writeFileSync(join(sub, 'fixture.test.ts'), `import { expect, it } from 'vitest'\n${body}\n`)
  spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--root',
      sub,
      '--reporter=json',
      `--outputFile=${out}`,
    ],
    { cwd: root, stdio: 'ignore' },
  )
  return JSON.parse(readFileSync(out, 'utf8'))
}

// Each case starts a vitest of its own: seconds each, more on a loaded machine.
describe('test-results', { timeout: 120_000 }, () => {
  it('counts skipped and todo tests and shows them on the summary line', () => {
    const report = vitestReport(
      'mixed',
      [
        "it('passes', () => expect(1).toBe(1))",
        "it('fails', () => expect(1).toBe(2))",
        "it.skip('is skipped', () => {})",
        "it.todo('is to do')",
      ].join('\n'),
    )
    const c = countResults([report])
    expect(c).toEqual({ passed: 1, failed: 1, missing: 0, skipped: 2 })
    expect(summaryLine({ ...c, failed: c.failed + c.missing })).toBe(
      '1 passed, 1 failed, 2 skipped',
    )
  })

  it('fails a run whose only problem is a skipped test', () => {
    const c = countResults([
      vitestReport('skip-only', "it('passes', () => {})\nit.skip('later', () => {})"),
    ])
    expect(c).toEqual({ passed: 1, failed: 0, missing: 0, skipped: 1 })
    // vitest exits 0 on a skip; the tier must not.
    expect(tierOutcome({ status: 0, ...c })).toEqual({
      line: '1 passed, 0 failed, 1 skipped',
      exitCode: 1,
    })
  })

  it('prints the plain line and passes when nothing is skipped', () => {
    const c = countResults([vitestReport('clean', "it('a', () => {})\nit('b', () => {})")])
    expect(tierOutcome({ status: 0, ...c })).toEqual({ line: '2 passed, 0 failed', exitCode: 0 })
  })

  it('counts a runner failure with no failed test as one failure', () => {
    expect(tierOutcome({ status: 1, passed: 3, failed: 0, missing: 0, skipped: 0 })).toEqual({
      line: '3 passed, 1 failed',
      exitCode: 1,
    })
  })
})
