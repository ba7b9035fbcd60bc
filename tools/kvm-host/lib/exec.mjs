// Small helpers to find and run host programs.
import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Finds an executable on PATH, also looking in the sbin directories a non-login root shell
 * may lack (mkfs.ext4 and debugfs live there).
 * @param {string} name
 * @returns {string | undefined} its absolute path
 */
export function which(name) {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin']
  for (const d of dirs) {
    if (!d) continue
    const p = path.join(d, name)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {}
  }
  return undefined
}

/**
 * @typedef {object} ExecResult
 * @property {number} status exit status (128 + signal number when killed)
 * @property {string} stdout
 * @property {string} stderr
 */

/**
 * Runs a program to completion, capturing its output.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, stdin?: string, inheritStderr?: boolean }} [opts]
 * @returns {Promise<ExecResult>}
 */
export function exec(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [
        opts.stdin === undefined ? 'ignore' : 'pipe',
        'pipe',
        opts.inheritStderr ? 'inherit' : 'pipe',
      ],
    })
    /** @type {Buffer[]} */
    const out = []
    /** @type {Buffer[]} */
    const err = []
    child.stdout?.on('data', (d) => out.push(d))
    child.stderr?.on('data', (d) => err.push(d))
    child.on('error', (e) => resolve({ status: 127, stdout: '', stderr: String(e.message) }))
    child.on('close', (code, signal) =>
      resolve({
        status: code ?? 128 + (signal ? os.constants.signals[signal] : 0),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    )
    if (child.stdin) {
      child.stdin.on('error', () => {}) // a child that does not read its input
      child.stdin.end(opts.stdin)
    }
  })
}
