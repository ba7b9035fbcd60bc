// Mounting /proc, /sys and /dev into a root, running a command inside it, and removing the root
// only once nothing is mounted under it (an rm -rf through a bind mount of /dev would empty the
// host's /dev).
import { spawn } from 'node:child_process'
import { createWriteStream, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { exec } from '../../kvm-host/lib/exec.mjs'
import { lastLine } from '../../kvm-host/lib/host-tools.mjs'

/** Mount points under `root`, deepest first. @param {string} root */
export function mountsUnder(root) {
  const prefix = `${path.resolve(root)}/`
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m) => m !== undefined && (m === root || m.startsWith(prefix)))
    .sort((a, b) => (b?.length ?? 0) - (a?.length ?? 0))
}

/**
 * Mounts proc, sysfs and the host's /dev (recursively, as a slave so nothing propagates back).
 * @param {string} root
 */
export async function mountSystem(root) {
  const steps = [
    ['-t', 'proc', 'proc', path.join(root, 'proc')],
    ['-t', 'sysfs', 'sysfs', path.join(root, 'sys')],
    ['--rbind', '/dev', path.join(root, 'dev')],
    ['--make-rslave', path.join(root, 'dev')],
  ]
  for (const args of steps) {
    const r = await exec('mount', args)
    if (r.status !== 0) {
      await unmountAll(root)
      throw new Error(`mount ${args.join(' ')}: ${lastLine(r.stderr)}`)
    }
  }
}

/**
 * Unmounts everything under `root`; true when nothing is left mounted.
 * @param {string} root
 */
export async function unmountAll(root) {
  for (let pass = 0; pass < 3 && mountsUnder(root).length > 0; pass++)
    for (const m of mountsUnder(root)) if (m) await exec('umount', ['-l', m])
  return mountsUnder(root).length === 0
}

/**
 * Removes a root directory, refusing while anything is mounted under it.
 * @param {string} dir
 */
export async function removeRoot(dir) {
  if (!(await unmountAll(dir)))
    throw new Error(`still mounted under ${dir}: ${mountsUnder(dir).join(', ')}; not removing it`)
  rmSync(dir, { recursive: true, force: true })
}

/**
 * Runs `bash -c script` inside `root` with exactly `env`, streaming its output to `log` and,
 * line by line, to `onLine`.
 * @param {string} root
 * @param {string} script
 * @param {Record<string, string>} env
 * @param {string} log
 * @param {(line: string) => void} onLine
 * @returns {Promise<{ status: number, output: string }>}
 */
export function runInRoot(root, script, env, log, onLine) {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`)
  const child = spawn(
    'chroot',
    [root, '/usr/bin/env', '-i', ...envArgs, '/bin/bash', '-c', script],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const file = createWriteStream(log)
  let output = ''
  let partial = ''
  const take = (/** @type {Buffer} */ b) => {
    file.write(b)
    const s = b.toString()
    output = (output + s).slice(-200_000)
    const lines = (partial + s).split('\n')
    partial = lines.pop() ?? ''
    for (const l of lines) onLine(l)
  }
  child.stdout.on('data', take)
  child.stderr.on('data', take)
  return new Promise((resolve) => {
    child.on('error', (e) => {
      file.end()
      resolve({ status: 127, output: e.message })
    })
    child.on('close', (code, signal) => {
      if (partial) onLine(partial)
      file.end()
      resolve({ status: code ?? (signal ? 128 : 1), output })
    })
  })
}
