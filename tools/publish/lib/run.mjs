// Runs a command and captures what it printed; never throws on a non-zero exit.
import { spawnSync } from 'node:child_process'

/**
 * @typedef {object} RunResult
 * @property {number} status  exit status (1 if killed by a signal or not started)
 * @property {string} stdout
 * @property {string} stderr
 * @property {string} output  stdout and stderr, joined
 */

/**
 * Runs `cmd args` to completion.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, input?: string, timeout?: number }} [opts]
 * @returns {RunResult}
 */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: opts.timeout ?? 10 * 60 * 1000,
  })
  const stdout = r.stdout ?? ''
  const stderr = (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : '')
  return { status: r.status ?? 1, stdout, stderr, output: `${stdout}${stderr}` }
}

/**
 * The last `n` lines of a text, for error reports.
 * @param {string} text
 * @param {number} [n]
 * @returns {string[]}
 */
export function tail(text, n = 15) {
  return text.trimEnd().split('\n').slice(-n)
}
