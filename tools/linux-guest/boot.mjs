// One Linux boot as the KVM suite, `pnpm compare:qemu` and `tsvmm demo` run it: a child process
// (tsvmm or QEMU) whose serial log is read for the /init markers. Nested guests under TCG are
// slow and sometimes hang, so a hang is told from a slow boot by the serial line going quiet, the
// whole boot has a generous bound, and a boot whose /init report is incomplete is retried.
import { spawn } from 'node:child_process'
import { bootFacts } from './facts.mjs'

/** The whole boot's bound (other emulated hosts on the same cores make boots slower). */
export const BOOT_TIMEOUT_MS = 900_000
/**
 * The serial line quiet this long: a hang. A healthy boot's longest quiet stretch is about 15 s
 * even in user delivery's slow early ticks; the hang seen in about a third of nested boots (CPU 0
 * spinning in __pv_queued_spin_lock_slowpath during check_timer, no exits) never recovers, and
 * each minute waited on it is a minute of CI.
 */
export const HANG_QUIET_MS = 60_000
/** How long a hung boot has, once asked to stop, before it is killed. */
const STOP_GRACE_MS = 10_000
/**
 * Boots tried before the answer is "no": the first and at most 3 retries. With two emulated hosts
 * sharing the cores (CI runs the README's tests and the bare-root check side by side) a third of
 * nested boots or more hang, and one boot needed three attempts in a CI run.
 */
export const ATTEMPTS = 4

/**
 * @typedef {object} Boot
 * @property {number | null} code exit code (null when killed)
 * @property {string} log the serial log (stdout)
 * @property {string} stderr
 * @property {number | undefined} toInit seconds from process start to the /init marker
 * @property {number | undefined} toFirstOutput seconds from process start to the first serial
 *   byte (the VMM's own start-up and firmware, before the kernel prints)
 * @property {number} seconds seconds to the end
 * @property {import('./facts.mjs').BootFacts} facts
 * @property {number} attempts which attempt this was
 */

/**
 * Runs `cmd args` once; resolves when it ends (it is killed on a hang or at the bound).
 * @param {string} cmd @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, timeoutMs?: number, quietMs?: number, graceMs?: number,
 *   onLog?: (log: string, kill: (sig: NodeJS.Signals) => void, pid: number) => void }} [o]
 *   `onLog` sees the serial log so far on every output, and may signal the child (a SIGTERM
 *   shutdown test) or look at it in /proc (its memory)
 * @returns {Promise<Omit<Boot, 'attempts'>>}
 */
export function bootOnce(cmd, args, o = {}) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env })
    let log = ''
    let stderr = ''
    /** @type {number | undefined} */
    let toInit
    /** @type {number | undefined} */
    let toFirstOutput
    let last = Date.now()
    /** @type {NodeJS.Timeout | undefined} */
    let hard
    // A hung boot is first asked to stop (SIGINT: tsvmm then stops its vCPUs and logs where each
    // one was, rip and mp_state, which tells a guest spinning from one waiting for an interrupt);
    // whatever has not ended STOP_GRACE_MS later is killed.
    const giveUp = () => {
      if (hard !== undefined) return
      child.kill('SIGINT')
      hard = setTimeout(() => child.kill('SIGKILL'), o.graceMs ?? STOP_GRACE_MS)
    }
    const timer = setTimeout(giveUp, o.timeoutMs ?? BOOT_TIMEOUT_MS)
    const quietMs = o.quietMs ?? HANG_QUIET_MS
    const quiet = setInterval(
      () => {
        if (Date.now() - last > quietMs) giveUp()
      },
      Math.min(5000, quietMs),
    )
    child.stdout.on('data', (d) => {
      last = Date.now()
      toFirstOutput ??= (last - started) / 1000
      log += d.toString()
      if (toInit === undefined && log.includes('TSVMM-INIT '))
        toInit = (Date.now() - started) / 1000
      o.onLog?.(log, (sig) => child.kill(sig), /** @type {number} */ (child.pid))
    })
    child.stderr.on('data', (d) => {
      stderr += d.toString()
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      clearTimeout(hard)
      clearInterval(quiet)
      const seconds = (Date.now() - started) / 1000
      resolve({ code, log, stderr, toInit, toFirstOutput, seconds, facts: bootFacts(log) })
    })
  })
}

/**
 * Boots until the /init report is complete, at most `attempts` times; `onAttempt` sees each one
 * (to keep the flake rate on record). Resolves with the last attempt.
 * @param {string} cmd @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, attempts?: number, timeoutMs?: number, quietMs?: number,
 *   onLog?: (log: string, kill: (sig: NodeJS.Signals) => void, pid: number) => void,
 *   complete?: (boot: Boot) => boolean, onAttempt?: (boot: Boot) => void }} [o] `complete` says
 *   whether a boot got far enough (default: its /init report is done); others are retried
 * @returns {Promise<Boot>}
 */
export async function bootUntilDone(cmd, args, o = {}) {
  /** @type {Boot | undefined} */
  let last
  for (let a = 1; a <= (o.attempts ?? ATTEMPTS); a++) {
    last = { ...(await bootOnce(cmd, args, o)), attempts: a }
    o.onAttempt?.(last)
    if (o.complete?.(last) ?? last.facts.done) return last
  }
  return /** @type {Boot} */ (last)
}

/**
 * The `tsvmm run` arguments of the test boot: 2 vCPUs, 512 MiB, the guest's kernel, initramfs
 * and command line, the given delivery mode.
 * @param {string} main tsvmm's dist/main.js
 * @param {{ vmlinuz: string, initramfs: string, cmdline: string }} guest
 * @param {'kernel' | 'user'} delivery
 * @param {string[]} [extra] more flags
 */
export function tsvmmLinuxArgs(main, guest, delivery, extra = []) {
  return [
    main,
    'run',
    '--kernel',
    guest.vmlinuz,
    '--initrd',
    guest.initramfs,
    '--cmdline',
    guest.cmdline,
    '--vcpus',
    '2',
    '--memory',
    '512M',
    '--delivery',
    delivery,
    ...extra,
  ]
}
