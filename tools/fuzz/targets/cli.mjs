// The tsvmm CLI on random flags, config files and images (ELF images of the test guests with
// random bytes flipped, truncated ones, garbage), each in its own child process. Typed: one of
// the documented exit codes 0-4 with every stderr line a `tsvmm:` message (or usage text).
// A signal, exit 70 (internal error), any other code or a stack trace is a crash; a child still
// running after 30 s is a hang. Every run gets --timeout 2, in case an image still boots.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { anyValue, COUNTED, rng, tally } from '../harness.mjs'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const MAIN = join(root, 'apps/vmm/dist/main.js')
const GUEST = join(root, 'tools/guests/build/demo64.elf')

const FLAGS = [
  '--vcpus',
  '--memory',
  '--xen-version',
  '--delivery',
  '--console',
  '--log-level',
  '--timeout',
  '--watchdog',
  '--json',
  '--config',
  '--image',
  '--help',
  '-h',
  '-V',
  '--version',
  '--bogus',
  '--',
]
const VALUES = [
  '',
  '0',
  '1',
  '2',
  '-1',
  '1.5',
  '999999',
  '64M',
  '1G',
  '9T',
  'x',
  '4.17',
  '4.',
  'kernel',
  'user',
  'auto',
  'stdout',
  'none',
  'file:/nonexistent/x.log',
  'file:/tmp',
  'debug',
  'NaN',
  '1e400',
  '\u00e9',
  '--json',
]

export function run(count, seed) {
  const r = rng(seed)
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-fuzz-'))
  const t = tally('cli', (e) => e === 'typed')
  const elf = (() => {
    try {
      return readFileSync(GUEST)
    } catch {
      return new Uint8Array(64)
    }
  })()
  for (let i = 0; i < count; i++) {
    if (i === Math.floor(count / 10)) t.warm()
    const image = join(dir, `img${i % 4}.elf`)
    const img = new Uint8Array(elf)
    const mode = r.int(0, 3)
    if (mode === 0)
      for (let k = r.int(1, 8); k > 0; k--)
        img[r.int(0, Math.min(img.length - 1, 256))] = r.int(0, 255)
    if (mode === 1)
      for (let k = r.int(1, 32); k > 0; k--) img[r.int(0, img.length - 1)] = r.int(0, 255)
    writeFileSync(
      image,
      mode === 2 ? img.subarray(0, r.int(0, 200)) : mode === 3 ? r.bytes(r.int(0, 300)) : img,
    )
    const config = join(dir, 'config.json')
    const cfg = {}
    for (const k of [
      'image',
      'vcpus',
      'memory',
      'xenVersion',
      'delivery',
      'console',
      'logLevel',
      'timeout',
      'watchdog',
      'json',
    ])
      if (r.chance(0.3))
        cfg[k] = r.chance(0.5)
          ? r.pick(VALUES)
          : typeof anyValue(r) === 'object'
            ? {}
            : r.int(-2, 100)
    writeFileSync(
      config,
      r.chance(0.9) ? JSON.stringify(cfg) : r.pick(['{', 'null', '[]', '"x"', '']),
    )
    const args = [r.pick(['run', 'run', 'run', 'caps', 'help', 'bogus', '--version'])]
    if (args[0] === 'run' && r.chance(0.8)) args.push(image)
    for (let k = r.int(0, 4); k > 0; k--) {
      const f = r.pick(FLAGS)
      args.push(f)
      if (f === '--config') args.push(config)
      else if (f === '--image') args.push(image)
      else if (r.chance(0.8)) args.push(r.pick(VALUES))
    }
    if (args[0] === 'run') args.push('--timeout', '2')
    t.input(() => {
      const child = spawnSync(process.execPath, [MAIN, ...args], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, NO_COLOR: '1' },
      })
      const what = `tsvmm ${args.join(' ')}`
      if (child.error?.code === 'ETIMEDOUT') {
        t.hang(what)
        throw COUNTED
      }
      const stackTrace = /^\s+at /m.test(child.stderr)
      if (child.signal !== null || ![0, 1, 2, 3, 4].includes(child.status) || stackTrace) {
        t.crash(
          `${child.signal ?? child.status}: ${what}: ${child.stderr.split('\n').slice(0, 2).join(' | ')}`,
        )
        throw COUNTED
      }
      throw 'typed'
    })
  }
  rmSync(dir, { recursive: true, force: true })
  t.report()
}
