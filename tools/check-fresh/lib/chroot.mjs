// Mounting /proc, /sys and a private /dev into a root, running a command inside it, and removing
// the root only once nothing is mounted under it (rm -rf stays on the root's own file system).
import { spawn } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'
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

/** Device nodes of the root's own /dev: [name, major, minor]. */
const DEV_NODES = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
]

/**
 * Mounts proc, sysfs and a private /dev: a tmpfs with the usual nodes, its own devpts instance
 * and shm. Never a bind of the host's /dev, so nothing done inside the root (or an rm -rf of it)
 * can touch this host's device nodes. /dev/kvm is absent on purpose: kvm-host then emulates.
 * @param {string} root
 */
export async function mountSystem(root) {
  const dev = path.join(root, 'dev')
  const steps = [
    ['mount', '-t', 'proc', 'proc', path.join(root, 'proc')],
    ['mount', '-t', 'sysfs', 'sysfs', path.join(root, 'sys')],
    ['mount', '-t', 'tmpfs', '-o', 'mode=755,size=64m', 'tmpfs', dev],
    ...DEV_NODES.map(([n, maj, min]) => [
      'mknod',
      '-m',
      '666',
      path.join(dev, String(n)),
      'c',
      String(maj),
      String(min),
    ]),
    ['mkdir', '-p', path.join(dev, 'pts'), path.join(dev, 'shm')],
    [
      'mount',
      '-t',
      'devpts',
      '-o',
      'newinstance,ptmxmode=0666,mode=620',
      'devpts',
      path.join(dev, 'pts'),
    ],
    ['mount', '-t', 'tmpfs', '-o', 'mode=1777', 'shm', path.join(dev, 'shm')],
    ['ln', '-s', 'pts/ptmx', path.join(dev, 'ptmx')],
    ['ln', '-s', '/proc/self/fd', path.join(dev, 'fd')],
    ['ln', '-s', '/proc/self/fd/0', path.join(dev, 'stdin')],
    ['ln', '-s', '/proc/self/fd/1', path.join(dev, 'stdout')],
    ['ln', '-s', '/proc/self/fd/2', path.join(dev, 'stderr')],
  ]
  for (const [cmd, ...args] of steps) {
    const r = await exec(/** @type {string} */ (cmd), args)
    if (r.status !== 0) {
      await unmountAll(root)
      throw new Error(`${cmd} ${args.join(' ')}: ${lastLine(r.stderr)}`)
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
  const r = await exec('rm', ['-rf', '--one-file-system', dir])
  if (r.status !== 0) throw new Error(`rm -rf ${dir}: ${lastLine(r.stderr)}`)
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
