// What `pnpm demo` and `pnpm test` show: one progress line per step, while the full output of
// every tool (turbo, node-gyp, vitest, kvm-host, the guests) goes to a log file whose path is
// printed when something fails.
import { spawn } from 'node:child_process'
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** Quiets turbo's first-run telemetry banner and update notice, for every turbo we start. */
export const QUIET_ENV = Object.freeze({
  TURBO_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  DO_NOT_TRACK: '1',
})

/**
 * A new log file `<tmp>/tsvmm-logs/<name>-<time>.log` ($TSVMM_LOG_DIR overrides the directory).
 * @param {string} name
 * @returns {{ path: string, write: (text: string) => void }}
 */
export function openLog(name) {
  const dir = process.env.TSVMM_LOG_DIR || path.join(os.tmpdir(), 'tsvmm-logs')
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')
  const file = path.join(dir, `${name}-${stamp}-${process.pid}.log`)
  writeFileSync(file, '')
  return { path: file, write: (text) => appendFileSync(file, text) }
}

/**
 * Runs a command with its output going to the log; each complete line also goes to `onLine`.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ log: { write: (t: string) => void }, cwd: string, env?: NodeJS.ProcessEnv,
 *   onLine?: (line: string, stream: 'out' | 'err') => void }} o
 * @returns {Promise<number>} exit status
 */
export function runLogged(cmd, args, o) {
  o.log.write(`\n$ ${[cmd, ...args].join(' ')}\n`)
  const child = spawn(cmd, args, {
    cwd: o.cwd,
    env: { ...process.env, ...QUIET_ENV, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const reader = (/** @type {'out' | 'err'} */ stream) => {
    let partial = ''
    return (/** @type {Buffer} */ b) => {
      const s = b.toString()
      o.log.write(s)
      const lines = (partial + s).split('\n')
      partial = lines.pop() ?? ''
      for (const l of lines) o.onLine?.(l, stream)
    }
  }
  child.stdout.on('data', reader('out'))
  child.stderr.on('data', reader('err'))
  return new Promise((resolve) => {
    child.on('error', (e) => {
      o.log.write(`spawn ${cmd}: ${e.message}\n`)
      o.onLine?.(`cannot run ${cmd}: ${e.message}`, 'err')
      resolve(127)
    })
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)))
  })
}

/**
 * Reads turbo's grouped output (`--log-order=grouped`): each task's block is printed when the
 * task ends, starting with "cache hit" or "cache miss". Returns a progress line for that first
 * line of each task, and undefined for every other line.
 * @param {string} line
 * @param {Set<string>} seen tasks already reported
 */
export function turboTaskLine(line, seen) {
  const m = /^(@?[\w./-]+):(\w[\w:-]*): (.*)$/.exec(line)
  if (!m) return undefined
  const [, pkg, task, rest] = /** @type {string[]} */ (m)
  const id = `${pkg}:${task}`
  if (seen.has(id)) return undefined
  seen.add(id)
  const cached = /^cache hit/.test(rest ?? '')
  return `${task} ${pkg}${cached ? ' (unchanged, from the turbo cache)' : ''}`
}

/**
 * Seconds since `start`, as text.
 * @param {number} start Date.now() at the start
 */
export function elapsed(start) {
  const s = Math.round((Date.now() - start) / 1000)
  return s >= 90 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`
}
