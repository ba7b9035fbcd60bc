// The QEMU command line of the emulated KVM host, and the supervision of one QEMU process.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

/**
 * @typedef {object} QemuConfig
 * @property {string} vmlinuz
 * @property {string} initramfs
 * @property {string} baseDisk node and its libraries, shared read-only by every run
 * @property {string} image the payload disk
 * @property {string} jobDisk the job disk
 * @property {number} smp
 * @property {number} memMiB
 * @property {string} nonce marker nonce of this run
 * @property {string} socketDir directory of the serial ports' sockets (con, out, err)
 * @property {string} [cpu] CPU model, `max,-cx16` unless overridden (TSVMM_KVM_HOST_CPU)
 * @property {'single' | 'multi'} [thread] TCG threading, `single` unless the QEMU profile says so
 * @property {string} [append] more kernel parameters (TSVMM_KVM_HOST_APPEND)
 */

/** Serial ports in guest order: ttyS0 console, ttyS1 the command's stdout, ttyS2 its stderr. */
export const SERIAL_PORTS = Object.freeze(['con', 'out', 'err'])

/**
 * The QEMU arguments. The settings are the proven ones (shared/nested-kvm): TCG with one thread
 * (multi-threaded TCG crashed the guest kernel at text-patching sites), `-cpu max,-cx16` (QEMU 7.2
 * TCG plus cmpxchg16b corrupts the 6.12 kernel's slab), `-no-reboot` with `panic=-1` so a panic ends
 * QEMU. Serial ports connect to Unix sockets this process listens on: console, stdout, stderr.
 * @param {QemuConfig} c
 * @returns {string[]}
 */
export function qemuArgs(c) {
  return [
    ...[
      '-accel',
      `tcg,thread=${c.thread ?? 'single'}`,
      '-machine',
      'pc',
      '-cpu',
      c.cpu ?? 'max,-cx16',
    ],
    ...['-smp', String(c.smp), '-m', String(c.memMiB)],
    ...['-nodefaults', '-display', 'none', '-monitor', 'none', '-no-reboot'],
    ...SERIAL_PORTS.flatMap((id) => [
      '-chardev',
      `socket,id=${id},path=${path.join(c.socketDir, id)},server=off`,
      '-serial',
      `chardev:${id}`,
    ]),
    ...['-kernel', c.vmlinuz, '-initrd', c.initramfs],
    ...['-drive', `file=${c.image},if=virtio,format=raw,cache=unsafe`],
    ...['-drive', `file=${c.jobDisk},if=virtio,format=raw,readonly=on`],
    ...['-drive', `file=${c.baseDisk},if=virtio,format=raw,readonly=on`],
    '-append',
    `console=ttyS0 panic=-1 quiet kvmhost.nonce=${c.nonce}${c.append ? ` ${c.append}` : ''}`,
  ]
}

/**
 * The TCG settings that are stable with this QEMU as the outer emulator. QEMU 7.2 (bookworm) needs
 * `max,-cx16` and one TCG thread; QEMU 10 (trixie) ran the nested 6.12 kernel with cmpxchg16b and
 * multi-threaded TCG without the crashes (shared/nested-kvm), and one thread per vCPU is faster.
 * @param {string} versionText output of `qemu-system-x86_64 --version`
 * @returns {{ cpu: string, thread: 'single' | 'multi', major: number }}
 */
export function tcgProfile(versionText) {
  const major = Number(/version (\d+)\./.exec(versionText)?.[1] ?? 0)
  return major >= 10
    ? { cpu: 'max', thread: 'multi', major }
    : { cpu: 'max,-cx16', thread: 'single', major }
}

/**
 * @typedef {object} QemuRun
 * @property {Promise<{ status: number | null, signal: string | null }>} done resolves once QEMU
 *   has exited
 * @property {(signal?: NodeJS.Signals) => void} kill stops QEMU (SIGKILL follows after 3 s)
 */

/**
 * Listens on one Unix socket per serial port, in a fresh short-named directory (socket paths are
 * limited to 107 bytes). QEMU connects to each as a client when it starts.
 * @param {{ con: (s: string) => void, out: (b: Buffer) => void, err: (b: Buffer) => void }} sinks
 * @returns {Promise<{ dir: string, ended: Promise<void>, close: () => void }>}
 */
export async function listenSerialPorts(sinks) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kvmh-'))
  /** @type {net.Server[]} */
  const servers = []
  /** @type {Promise<void>[]} */
  const ends = []
  for (const id of SERIAL_PORTS) {
    /** @type {(v: void) => void} */
    let ended = () => {}
    ends.push(new Promise((r) => (ended = r)))
    const server = net.createServer((sock) => {
      server.close() // one connection per port
      if (id === 'con') sock.setEncoding('utf8').on('data', sinks.con)
      else sock.on('data', id === 'out' ? sinks.out : sinks.err)
      sock.on('error', () => {})
      sock.on('close', () => ended())
    })
    servers.push(server)
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(path.join(dir, id), () => resolve(undefined))
    })
  }
  return {
    dir,
    // every port has been read to its end (QEMU closes them when it exits)
    ended: Promise.all(ends).then(() => {}),
    close() {
      for (const s of servers) s.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Starts QEMU. `timeout(1)` wraps it as a backstop: should this process die without killing QEMU,
 * QEMU still ends shortly after the deadline.
 * @param {{ qemu: string, args: string[], backstopSec: number, onQemuOutput: (s: string) => void }} p
 * @returns {QemuRun}
 */
export function startQemu(p) {
  const child = spawn('timeout', ['--kill-after=10', String(p.backstopSec), p.qemu, ...p.args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.setEncoding('utf8').on('data', p.onQemuOutput)
  child.stderr.setEncoding('utf8').on('data', p.onQemuOutput)
  const done = new Promise((resolve) => {
    child.on('error', (e) => {
      p.onQemuOutput(`spawn: ${e.message}\n`)
      resolve({ status: null, signal: 'SIGKILL' })
    })
    child.on('close', (status, signal) => resolve({ status, signal }))
  })
  /** @type {NodeJS.Timeout | undefined} */
  let hard
  return {
    done: /** @type {QemuRun['done']} */ (done),
    kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return
      // timeout(1) made itself a process group leader: signal QEMU and it together.
      const group = (/** @type {NodeJS.Signals} */ sig) => {
        try {
          if (child.pid) process.kill(-child.pid, sig)
        } catch {
          child.kill(sig)
        }
      }
      group(signal)
      hard ??= setTimeout(() => group('SIGKILL'), 3000)
      hard.unref()
    },
  }
}
