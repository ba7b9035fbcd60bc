// The guest console (first serial port): kernel messages plus the markers /init prints.
// A marker is one line `@@kvm-host:<nonce>:<uptime>:<event> [args]`; the nonce is fresh per run
// and only reaches the guest on the kernel command line, so nothing else can forge one.
import { EXIT } from './errors.mjs'

/** Marker prefix; the rest of the line is `<nonce>:<uptime>:<event> [args]`. */
export const MARKER_PREFIX = '@@kvm-host:'

/**
 * @typedef {object} Marker
 * @property {number} uptime guest uptime in seconds when /init printed it
 * @property {string} event init | modules | mounted | start | exit | done | fail
 * @property {string} args the rest of the line
 */

/**
 * Parses one console line as a marker of this run.
 * @param {string} line without its line ending
 * @param {string} nonce this run's nonce
 * @returns {Marker | null} null for any other line (kernel message, a marker of another nonce)
 */
export function parseMarker(line, nonce) {
  const at = line.indexOf(MARKER_PREFIX)
  if (at < 0) return null
  const m = /^([0-9a-f]+):([0-9.]+):([a-z-]+)(?: (.*))?$/.exec(
    line.slice(at + MARKER_PREFIX.length).trimEnd(),
  )
  if (!m || m[1] !== nonce) return null
  return { uptime: Number(m[2]), event: /** @type {string} */ (m[3]), args: m[4] ?? '' }
}

/** Lines from the kernel that mean the guest kernel died. */
const PANIC = /Kernel panic - not syncing|kernel BUG at|general protection fault|double fault/

/**
 * Follows the console: splits it into lines, tracks what /init reported, keeps the last lines that
 * were not markers for error messages.
 */
export class GuestConsole {
  /**
   * @param {string} nonce this run's nonce
   * @param {{ onMarker?: (m: Marker) => void, onLine?: (line: string) => void }} [hooks]
   */
  constructor(nonce, hooks = {}) {
    this.nonce = nonce
    this.hooks = hooks
    this.partial = ''
    /** @type {Map<string, Marker>} first marker of each event */
    this.markers = new Map()
    /** @type {{ kind: string, message: string } | undefined} failure /init reported */
    this.failure = undefined
    /** @type {number | undefined} the command's exit status */
    this.exitStatus = undefined
    /** @type {string | undefined} first line that showed a kernel crash */
    this.panic = undefined
    /** @type {string[]} last non-marker lines */
    this.tail = []
  }

  /** @param {string} text a chunk of console output */
  push(text) {
    const parts = (this.partial + text).split('\n')
    this.partial = parts.pop() ?? ''
    for (const p of parts) this.line(p.replace(/\r+$/, ''))
  }

  /** Flushes a last line without its newline. */
  end() {
    if (this.partial) this.line(this.partial.replace(/\r+$/, ''))
    this.partial = ''
  }

  /** @param {string} line */
  line(line) {
    const m = parseMarker(line, this.nonce)
    if (!m) {
      if (PANIC.test(line) && this.panic === undefined) this.panic = line.trim()
      this.tail.push(line)
      if (this.tail.length > 40) this.tail.shift()
      this.hooks.onLine?.(line)
      return
    }
    if (!this.markers.has(m.event)) this.markers.set(m.event, m)
    if (m.event === 'exit' && this.exitStatus === undefined) {
      const rc = Number.parseInt(m.args, 10)
      this.exitStatus = Number.isInteger(rc) && rc >= 0 && rc <= 255 ? rc : EXIT.LOST
    } else if (m.event === 'fail' && this.failure === undefined) {
      const sp = m.args.indexOf(' ')
      this.failure = {
        kind: sp < 0 ? m.args : m.args.slice(0, sp),
        message: sp < 0 ? '' : m.args.slice(sp + 1),
      }
    }
    this.hooks.onMarker?.(m)
  }

  /** True once /init has started. */
  get booted() {
    return this.markers.has('init')
  }
}

/**
 * @typedef {object} RunEnd
 * @property {boolean} bootTimedOut no `init` marker within the boot timeout
 * @property {boolean} timedOut the whole run exceeded --timeout
 * @property {number | null} qemuStatus QEMU's exit status (null when killed by a signal)
 * @property {string} qemuStderr the last of QEMU's own output
 * @property {number} timeoutSec the --timeout in force
 * @property {number} bootTimeoutSec the boot timeout in force
 */

/**
 * Decides the run's exit code and, for a harness failure, the `kvm-host:` message.
 * @param {GuestConsole} con the console after QEMU has gone
 * @param {RunEnd} end
 * @returns {{ code: number, message?: string }}
 */
export function verdict(con, end) {
  if (con.exitStatus !== undefined) return { code: con.exitStatus }
  if (con.panic !== undefined)
    return { code: EXIT.PANIC, message: `the guest kernel crashed: ${con.panic}` }
  if (con.failure) {
    const code =
      con.failure.kind === 'modules' || con.failure.kind === 'kvm' ? EXIT.NO_KVM : EXIT.HARNESS
    return { code, message: `guest /init failed (${con.failure.kind}): ${con.failure.message}` }
  }
  if (end.bootTimedOut || (!con.booted && end.timedOut))
    return {
      code: EXIT.NO_BOOT,
      message: `the guest did not reach /init within ${end.bootTimedOut ? end.bootTimeoutSec : end.timeoutSec} s`,
    }
  if (end.timedOut)
    return {
      code: EXIT.TIMEOUT,
      message: `timed out after ${end.timeoutSec} s${con.markers.has('start') ? '' : ' (the command had not started)'}`,
    }
  if (!con.booted)
    return {
      code: EXIT.NO_BOOT,
      message: `QEMU stopped before the guest reached /init (status ${end.qemuStatus})${end.qemuStderr ? `: ${end.qemuStderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
    }
  return {
    code: EXIT.LOST,
    message: `the guest stopped without reporting the command's exit status (QEMU status ${end.qemuStatus})`,
  }
}
