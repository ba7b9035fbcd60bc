// One run inside the emulated KVM host: prepare (cached), build the payload, boot QEMU, stream the
// command's output, decide the exit code, collect directories, clean up.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ensureBaseImage } from './base-image.mjs'
import { cacheRoot, withLock } from './cache.mjs'
import { collectDirs } from './collect.mjs'
import { GuestConsole, verdict } from './console.mjs'
import { EXIT, KvmHostError } from './errors.mjs'
import { exec } from './exec.mjs'
import { ensureHostTools } from './host-tools.mjs'
import { renderJobScript, selectGuestEnv } from './job.mjs'
import { ensureKernel } from './kernel.mjs'
import { buildPayload } from './payload.mjs'
import { findPnpm, missingPnpmHint } from './pnpm.mjs'
import { listenSerialPorts, qemuArgs, startQemu, tcgProfile } from './qemu.mjs'
import { Timings } from './timings.mjs'

/**
 * @typedef {object} RunContext
 * @property {string} repoRoot
 * @property {(msg: string) => void} note prints a `kvm-host:` line on stderr
 * @property {(stop: (signal: NodeJS.Signals) => void) => void} onAbort registers what a signal does
 */

/**
 * Runs the command in the emulated host and returns the exit code to leave with.
 * @param {import('./args.mjs').Options} o
 * @param {RunContext} ctx
 * @returns {Promise<number>}
 */
export async function runEmulated(o, ctx) {
  const t = new Timings()
  const deadline = Date.now() + o.timeoutSec * 1000
  const overdue = (/** @type {string} */ step) => {
    if (Date.now() > deadline)
      throw new KvmHostError(EXIT.TIMEOUT, `timed out after ${o.timeoutSec} s (during ${step})`)
  }
  const tools = await ensureHostTools(ctx.note)
  const qemuBin = tools['qemu-system-x86_64'] ?? 'qemu-system-x86_64'
  const tcg = tcgProfile((await exec(qemuBin, ['--version'])).stdout)
  const cache = cacheRoot()
  const pnpm = findPnpm(process.env)
  const { kernel, base } = await withLock(
    path.join(cache, 'prepare.lock'),
    async () => {
      const kernel = await ensureKernel(cache, ctx.note)
      const bins = {
        node: process.execPath,
        busybox: tools.busybox ?? 'busybox',
        cpio: tools.cpio ?? 'cpio',
        mkfs: tools['mkfs.ext4'] ?? 'mkfs.ext4',
        pnpm,
      }
      const base = await ensureBaseImage(cache, kernel, bins, ctx.note)
      return { kernel, base }
    },
    { onWait: (pid) => ctx.note(`waiting for kvm-host pid ${pid}, which prepares the cache`) },
  )
  t.mark('prepare')
  overdue('prepare')

  const runDir = mkdtempSync(path.join(os.tmpdir(), 'tsvmm-kvm-host-'))
  // Until QEMU runs, a signal just removes the run's files and leaves.
  ctx.onAbort((signal) => {
    rmSync(runDir, { recursive: true, force: true })
    process.exit(128 + signalNumber(signal))
  })
  try {
    const jobScript = renderJobScript({
      command: o.command,
      cwd: process.cwd(),
      repoRoot: ctx.repoRoot,
      nodeDir: path.dirname(base.nodePath),
      ...(base.pnpmDir ? { pnpmDir: base.pnpmDir } : {}),
      env: selectGuestEnv(process.env, process.stdout.isTTY === true),
    })
    const payload = await buildPayload({
      runDir,
      repoRoot: ctx.repoRoot,
      jobScript,
      mkfs: tools['mkfs.ext4'] ?? 'mkfs.ext4',
      debugfs: tools.debugfs ?? 'debugfs',
    })
    t.mark('payload')
    overdue('payload build')

    const nonce = randomBytes(8).toString('hex')
    const bootStart = Date.now()
    /** @type {string[]} */
    const consoleLog = []
    let qemuOutput = ''
    const con = new GuestConsole(nonce, {
      onMarker: (m) => {
        t.mark(m.event === 'exit' ? 'command' : m.event)
        if (m.event === 'start')
          ctx.note(
            `emulated host up after ${Math.round((Date.now() - bootStart) / 1000)} s (Linux ${kernel.release} under QEMU ${tcg.major} TCG, kvm_amd loaded): running the command`,
          )
      },
      onLine: (line) => {
        consoleLog.push(line)
        if (o.verbose) process.stderr.write(`[guest] ${line}\n`)
      },
    })
    const ports = await listenSerialPorts({
      con: (s) => con.push(s),
      out: (b) => process.stdout.write(b),
      err: (b) => process.stderr.write(b),
    })
    const qemu = startQemu({
      qemu: qemuBin,
      args: qemuArgs({
        vmlinuz: kernel.vmlinuz,
        initramfs: base.initramfs,
        baseDisk: base.disk,
        image: payload.image,
        jobDisk: payload.jobDisk,
        smp: o.smp,
        memMiB: o.memMiB,
        nonce,
        socketDir: ports.dir,
        cpu: process.env.TSVMM_KVM_HOST_CPU || tcg.cpu,
        thread: process.env.TSVMM_KVM_HOST_TCG_THREAD === 'single' ? 'single' : tcg.thread,
        ...(process.env.TSVMM_KVM_HOST_APPEND ? { append: process.env.TSVMM_KVM_HOST_APPEND } : {}),
      }),
      backstopSec: Math.ceil((deadline - Date.now()) / 1000) + 30,
      onQemuOutput: (s) => {
        qemuOutput = (qemuOutput + s).slice(-4000)
      },
    })
    t.mark('qemu-start')
    let timedOut = false
    let bootTimedOut = false
    /** @type {NodeJS.Signals | undefined} */
    let aborted
    const overall = setTimeout(() => {
      timedOut = true
      qemu.kill()
    }, deadline - Date.now())
    const boot = setTimeout(() => {
      if (con.booted) return
      bootTimedOut = true
      qemu.kill()
    }, o.bootTimeoutSec * 1000)
    ctx.onAbort((signal) => {
      aborted = signal
      qemu.kill()
    })
    const q = await qemu.done
    // QEMU has gone, so each port is at its end or was never connected: wait a little at most.
    await Promise.race([ports.ended, new Promise((r) => setTimeout(r, 2000))])
    ports.close()
    clearTimeout(overall)
    clearTimeout(boot)
    con.end()
    t.mark('shutdown')
    if (o.keep) writeFileSync(path.join(runDir, 'console.log'), `${consoleLog.join('\n')}\n`)
    if (aborted) throw new KvmHostError(128 + signalNumber(aborted), `interrupted by ${aborted}`)

    const v = verdict(con, {
      bootTimedOut,
      timedOut,
      qemuStatus: q.status,
      qemuStderr: qemuOutput,
      timeoutSec: o.timeoutSec,
      bootTimeoutSec: o.bootTimeoutSec,
    })
    if (v.message) {
      ctx.note(v.message)
      const tail = con.tail.filter((l) => l.trim()).slice(-15)
      if (tail.length && !o.verbose) ctx.note(`last console lines:\n  ${tail.join('\n  ')}`)
    }
    const hint = missingPnpmHint(o.command, v.code, pnpm)
    if (hint) ctx.note(hint)
    if (o.collect.length > 0 && con.exitStatus !== undefined) {
      if (!con.markers.has('done'))
        throw new KvmHostError(
          EXIT.COLLECT,
          'the guest did not unmount the payload; nothing collected',
        )
      await collectDirs(
        {
          debugfs: tools.debugfs ?? 'debugfs',
          image: payload.image,
          repoRoot: ctx.repoRoot,
          runDir,
          dirs: o.collect,
        },
        ctx.note,
      )
      t.mark('collect')
    }
    if (o.timings) ctx.note(`timings: ${t.summary()}`)
    if (o.keep) ctx.note(`kept ${runDir}`)
    return v.code
  } finally {
    if (!o.keep) rmSync(runDir, { recursive: true, force: true })
  }
}

/** @param {NodeJS.Signals} s */
function signalNumber(s) {
  return { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[/** @type {string} */ (s)] ?? 15
}
