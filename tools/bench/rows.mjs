// The rows every benchmark writes besides its human output, and the one table `pnpm bench`
// prints from them. A row (COMMON rules):
//   {"benchmark": string, "unit": string, "tsvmm": number, "baseline": number,
//    "baselineName": string, "ratio": number, "target": string, "met": boolean|null}
// plus, for a row that could not be measured here, "note": "not measured: <reason>" with the
// numbers null: a missing measurement is shown as missing, never faked.
// Each benchmark writes its rows to bench-results/<bench-name>.json at the repository root (a
// JSON array; the reader also takes a single object or one object per line).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const resultsDir = join(repoRoot, 'bench-results')

/**
 * @typedef {{ benchmark: string, unit: string, tsvmm: number | null, baseline: number | null,
 *   baselineName: string, ratio: number | null, target: string, met: boolean | null,
 *   note?: string }} BenchRow
 */

/** Writes `rows` as bench-results/<name>.json, replacing what an earlier run left. */
export function writeRows(/** @type {string} */ name, /** @type {BenchRow[]} */ rows) {
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(rows, null, 2)}\n`)
}

/** The line prefix on which a run inside tools/kvm-host hands its rows to the outer run. */
const ROW_MARK = 'bench-row: '

/** Prints `row` for the outer run (a benchmark running inside tools/kvm-host with --inside). */
export function printRow(/** @type {BenchRow} */ row) {
  console.log(`${ROW_MARK}${JSON.stringify(row)}`)
}

/**
 * Runs benchmark `script` again inside tools/kvm-host with `--inside` (for a machine without the
 * KVM it needs); echoes its output except the rows it printed with printRow, which it returns.
 * @param {string} script the benchmark's own path
 * @returns {{ status: number, rows: BenchRow[] }}
 */
export function runInKvmHost(script) {
  const r = spawnSync(
    process.execPath,
    [join(repoRoot, 'tools', 'kvm-host', 'cli.mjs'), '--', process.execPath, script, '--inside'],
    { stdio: ['inherit', 'pipe', 'inherit'], encoding: 'utf8' },
  )
  const rows = []
  for (const line of (r.stdout ?? '').split('\n')) {
    if (line.startsWith(ROW_MARK)) rows.push(JSON.parse(line.slice(ROW_MARK.length)))
    else if (line) console.log(line)
  }
  return { status: r.status ?? 1, rows }
}

/** A row for what cannot be measured on this machine, with the reason. */
export function notMeasured(
  /** @type {string} */ benchmark,
  /** @type {string} */ reason,
  /** @type {{ unit?: string, baselineName?: string, target?: string }} */ o = {},
) {
  return {
    benchmark,
    unit: o.unit ?? '',
    tsvmm: null,
    baseline: null,
    baselineName: o.baselineName ?? '',
    ratio: null,
    target: o.target ?? '',
    met: null,
    note: `not measured: ${reason}`,
  }
}

/** Every row in bench-results/*.json, in file-name order, each with the file it came from. */
export function readRows() {
  if (!existsSync(resultsDir)) return []
  /** @type {(BenchRow & { file: string })[]} */
  const rows = []
  for (const file of readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const text = readFileSync(join(resultsDir, file), 'utf8')
    let parsed
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l))
    }
    for (const row of Array.isArray(parsed) ? parsed : [parsed]) rows.push({ ...row, file })
  }
  return rows
}

/** A number with three significant digits (and thousands grouped above 1000). */
function num(/** @type {number} */ v) {
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US')
  return Number(v.toPrecision(3)).toString()
}

/** The rows as one Markdown table: benchmark, now, baseline, ratio, target, met. */
export function formatTable(/** @type {BenchRow[]} */ rows) {
  const header = ['benchmark', 'now', 'baseline', 'ratio', 'target', 'met']
  const lines = rows.map((r) => {
    if (r.tsvmm === null || r.tsvmm === undefined) {
      return [r.benchmark, r.note ?? 'not measured', '', '', r.target, '—']
    }
    const unit = r.unit ? ` ${r.unit}` : ''
    const base =
      r.baseline === null || r.baseline === undefined
        ? '—'
        : `${num(r.baseline)}${unit} (${r.baselineName})`
    const ratio = r.ratio === null || r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}x`
    const met = r.met === null || r.met === undefined ? '—' : r.met ? 'met' : 'NOT met'
    return [r.benchmark, `${num(r.tsvmm)}${unit}`, base, ratio, r.target || '—', met]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const row = (/** @type {string[]} */ cells) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
  return [row(header), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n')
}
