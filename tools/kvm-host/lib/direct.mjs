// Where /dev/kvm works, no emulation is needed: the command runs here, with the same exit code
// semantics (its own code, 124 on timeout, 127/126 when it cannot be started).
import { spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cacheKey, cacheRoot } from './cache.mjs'
import { EXIT } from './errors.mjs'
import { exec, which } from './exec.mjs'

const HERE = path.dirname(new URL(import.meta.url).pathname)
const PROBE_SOURCE = path.join(HERE, '..', 'probe.c')

/**
 * Whether /dev/kvm exists and opens read-write here.
 * @param {string} [dev]
 */
export function kvmUsable(dev = '/dev/kvm') {
  try {
    closeSync(openSync(dev, 'r+'))
    return true
  } catch {
    return false
  }
}

/**
 * Finds the probe binary: the one `pnpm build` made when it is up to date, else one compiled into
 * the cache.
 * @returns {Promise<string | undefined>}
 */
async function probeBinary() {
  const built = path.join(HERE, '..', 'build', 'probe')
  if (existsSync(built) && statSync(built).mtimeMs >= statSync(PROBE_SOURCE).mtimeMs) return built
  const gcc = which('gcc')
  if (!gcc) return undefined
  const dir = path.join(cacheRoot(), 'probe')
  const bin = path.join(dir, `probe-${cacheKey(readFileSync(PROBE_SOURCE, 'utf8'))}`)
  if (existsSync(bin)) return bin
  mkdirSync(dir, { recursive: true })
  const tmp = `${bin}.tmp-${process.pid}`
  const r = await exec(gcc, ['-O2', '-o', tmp, PROBE_SOURCE])
  if (r.status !== 0) return undefined
  await exec('mv', [tmp, bin])
  return bin
}

/**
 * Whether the local /dev/kvm can stand in for the emulated host: it opens and offers the Xen
 * event-channel features tsvmm needs (some sandboxes give a /dev/kvm without them, e.g. kvm_pvm).
 * @param {(msg: string) => void} note
 * @param {boolean} verbose say why the local one is not used
 * @returns {Promise<boolean>}
 */
export async function localKvmFits(note, verbose) {
  if (!kvmUsable()) return false
  const probe = await probeBinary()
  if (!probe) {
    note('/dev/kvm opens but no gcc to probe it for Xen support: using the emulated host')
    return false
  }
  const r = await exec(probe, ['--require-xen'])
  if (r.status === 0) return true
  const vendor = /vendor module: (\S+)/.exec(r.stdout)?.[1] ?? 'unknown'
  if (verbose)
    note(
      `local /dev/kvm (${vendor}) lacks Xen event channels: using the emulated host (--direct overrides)`,
    )
  return false
}

/**
 * Runs the command on this machine in its own process group.
 * @param {import('./args.mjs').Options} o
 * @param {import('./emulated.mjs').RunContext} ctx
 * @returns {Promise<number>}
 */
export function runDirect(o, ctx) {
  return new Promise((resolve) => {
    const [cmd, ...args] = o.command
    const child = spawn(/** @type {string} */ (cmd), args, { stdio: 'inherit', detached: true })
    let timedOut = false
    const group = (/** @type {NodeJS.Signals} */ sig) => {
      try {
        if (child.pid) process.kill(-child.pid, sig)
      } catch {}
    }
    const timer = setTimeout(() => {
      timedOut = true
      group('SIGTERM')
      setTimeout(() => group('SIGKILL'), 5000).unref()
    }, o.timeoutSec * 1000)
    ctx.onAbort((sig) => group(sig))
    child.on('error', (e) => {
      clearTimeout(timer)
      const code = /** @type {NodeJS.ErrnoException} */ (e).code
      ctx.note(`cannot run ${cmd}: ${e.message}`)
      resolve(code === 'ENOENT' ? 127 : 126)
    })
    child.on('exit', (status, signal) => {
      clearTimeout(timer)
      if (timedOut) {
        ctx.note(`timed out after ${o.timeoutSec} s`)
        resolve(EXIT.TIMEOUT)
      } else resolve(status ?? 128 + (signal ? os.constants.signals[signal] : 0))
    })
  })
}
