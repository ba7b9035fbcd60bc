// publint and @arethetypeswrong/cli on a packed tarball.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { run, tail } from './run.mjs'
import { repoRoot } from './workspace.mjs'

/**
 * @typedef {object} LintVerdict
 * @property {boolean} ok        no errors or warnings
 * @property {string[]} problems errors and warnings, one line each
 * @property {string[]} notes    suggestions (printed, do not fail)
 */

/**
 * publint on a tarball, warnings counted as failures (strict).
 * @param {string} tarball
 * @returns {Promise<LintVerdict>}
 */
export async function runPublint(tarball) {
  const bytes = readFileSync(tarball)
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  const { messages, pkg } = await publint({
    pack: { tarball: buffer },
    level: 'suggestion',
    strict: true,
  })
  const line = (/** @type {import('publint').Message} */ m) =>
    `publint ${m.type} ${m.code}: ${formatMessage(m, pkg, { color: false }) ?? ''}`
  return {
    ok: !messages.some((m) => m.type !== 'suggestion'),
    problems: messages.filter((m) => m.type !== 'suggestion').map(line),
    notes: messages.filter((m) => m.type === 'suggestion').map(line),
  }
}

/**
 * @arethetypeswrong/cli on a tarball. The packages are ESM-only, so the `esm-only` profile
 * (node16 from ESM and bundler resolution; CJS `require` is not a target) decides.
 * @param {string} tarball
 * @returns {LintVerdict}
 */
export function runAttw(tarball) {
  const attw = join(repoRoot, 'node_modules', '.bin', 'attw')
  const args = [tarball, '--profile', 'esm-only', '--format', 'json', '--no-definitely-typed']
  const r = run(attw, args, { env: { ...process.env, NO_COLOR: '1' } })
  let json
  try {
    json = JSON.parse(r.stdout)
  } catch {
    return { ok: false, problems: ['attw printed no JSON:', ...tail(r.output)], notes: [] }
  }
  const analysis = json.analysis ?? {}
  /** @type {any[]} */
  const problems = Array.isArray(analysis.problems) ? analysis.problems : []
  const ignored = new Set(['node10', 'node16-cjs'])
  const counted = problems.filter((p) => !p.resolutionKind || !ignored.has(p.resolutionKind))
  const describe = (/** @type {any} */ p) =>
    `attw ${p.kind}${p.entrypoint ? ` ${p.entrypoint}` : ''}${p.resolutionKind ? ` (${p.resolutionKind})` : ''}`
  const entrypoints = Object.keys(analysis.entrypoints ?? {})
  return {
    ok: r.status === 0 && counted.length === 0 && entrypoints.length > 0,
    problems: [
      ...counted.map(describe),
      ...(entrypoints.length === 0 ? ['attw found no entry points'] : []),
      ...(r.status !== 0 && counted.length === 0
        ? [`attw exited ${r.status}`, ...tail(r.stderr, 5)]
        : []),
    ],
    notes: [
      `attw entry points: ${entrypoints.join(', ')}`,
      ...problems
        .filter((p) => !counted.includes(p))
        .map((p) => `${describe(p)} (ignored by esm-only)`),
    ],
  }
}
