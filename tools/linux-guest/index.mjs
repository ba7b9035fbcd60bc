// The Linux guest the tsvmm tests boot: tools/kvm-host's kernel (the Debian cloud kernel with
// CONFIG_KVM_XEN, located or downloaded by its own kernel module) and an initramfs built here
// from Debian's busybox-static. Both are copied under build/ because inside the emulated KVM host
// only the repository is visible, not the host's cache.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { newcArchive } from './cpio.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
/** Where the kernel and initramfs go. */
export const BUILD_DIR = path.join(here, 'build')
/** The command line the tests use: a panic calls SCHEDOP_shutdown(crash), not a reboot. */
export const TEST_CMDLINE = 'console=ttyS0 panic=-1 xen_legacy_crash'
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox']

/**
 * The kernel (copied from tools/kvm-host's cache, downloading it there first if needed).
 * @param {(msg: string) => void} note
 * @returns {Promise<{ vmlinuz: string, release: string }>}
 */
export async function ensureVmlinuz(note = () => {}) {
  const dest = path.join(BUILD_DIR, 'vmlinuz')
  const meta = path.join(BUILD_DIR, 'kernel.json')
  const { ensureKernel } = await import('../kvm-host/lib/kernel.mjs')
  const { cacheRoot } = await import('../kvm-host/lib/cache.mjs')
  const copied = existsSync(dest) && existsSync(meta)
  // Inside the emulated host there is no kvm-host cache and no Debian archive: the copy the build
  // made outside (pnpm test:kvm builds first) is the kernel.
  if (copied && !existsSync(path.join(cacheRoot(), 'kernel', 'current.json')))
    return { vmlinuz: dest, release: JSON.parse(readFileSync(meta, 'utf8')).release }
  const kernel = await ensureKernel(cacheRoot(), note)
  mkdirSync(BUILD_DIR, { recursive: true })
  const fresh =
    existsSync(dest) &&
    statSync(dest).size === statSync(kernel.vmlinuz).size &&
    existsSync(meta) &&
    JSON.parse(readFileSync(meta, 'utf8')).release === kernel.release
  if (!fresh) {
    copyFileSync(kernel.vmlinuz, dest)
    writeFileSync(
      meta,
      `${JSON.stringify({ release: kernel.release, pkg: kernel.pkg, version: kernel.version })}\n`,
    )
  }
  return { vmlinuz: dest, release: kernel.release }
}

/**
 * Whether an ELF64 file asks for a program interpreter (PT_INTERP): a dynamically linked one.
 * @param {Buffer} elf
 */
function hasInterpreter(elf) {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) return true
  const phoff = Number(elf.readBigUInt64LE(0x20))
  const size = elf.readUInt16LE(0x36)
  const count = elf.readUInt16LE(0x38)
  for (let i = 0; i < count; i++) {
    const at = phoff + i * size
    if (at + 4 <= elf.length && elf.readUInt32LE(at) === 3) return true
  }
  return false
}

/**
 * Builds build/pvbench from pvbench.c, static (the initramfs has no libraries).
 * @returns {Buffer} the program
 */
function buildPvbench() {
  mkdirSync(BUILD_DIR, { recursive: true })
  const out = path.join(BUILD_DIR, 'pvbench')
  const r = spawnSync(
    'gcc',
    ['-static', '-O2', '-Wall', '-Werror', '-o', out, path.join(here, 'pvbench.c')],
    { encoding: 'utf8' },
  )
  if (r.error) throw new Error(`gcc: ${r.error.message}: apt-get install gcc libc6-dev`)
  if (r.status !== 0) throw new Error(`gcc -static pvbench.c failed: ${r.stderr.trim()}`)
  return readFileSync(out)
}

/**
 * Builds build/initramfs.cpio: busybox-static as /bin/busybox, /init from init.sh, /dev/console,
 * and /bin/pvbench (the PV device figures' guest side, run only with tsvmm.bench).
 * @returns {string} its path
 */
export function buildInitramfs() {
  const busybox = BUSYBOX_CANDIDATES.find((p) => existsSync(p))
  if (!busybox) throw new Error('busybox not found: apt-get install busybox-static')
  const bin = readFileSync(busybox)
  // A dynamically linked busybox would need its libraries in the initramfs: insist on the static one.
  if (hasInterpreter(bin))
    throw new Error(`${busybox} is dynamically linked: apt-get install busybox-static`)
  const archive = newcArchive([
    { name: 'bin', mode: 0o40755 },
    { name: 'dev', mode: 0o40755 },
    { name: 'dev/console', mode: 0o20600, rdev: [5, 1] },
    { name: 'proc', mode: 0o40755 },
    { name: 'sys', mode: 0o40755 },
    { name: 'bin/busybox', mode: 0o100755, data: bin },
    { name: 'bin/pvbench', mode: 0o100755, data: buildPvbench() },
    { name: 'init', mode: 0o100755, data: readFileSync(path.join(here, 'init.sh')) },
  ])
  mkdirSync(BUILD_DIR, { recursive: true })
  const out = path.join(BUILD_DIR, 'initramfs.cpio')
  writeFileSync(out, archive)
  return out
}

/**
 * Everything a boot needs.
 * @param {(msg: string) => void} [note]
 */
export async function linuxGuest(note) {
  const { vmlinuz, release } = await ensureVmlinuz(note)
  const initramfs = path.join(BUILD_DIR, 'initramfs.cpio')
  const stale =
    !existsSync(initramfs) ||
    ['init.sh', 'pvbench.c'].some(
      (f) => statSync(initramfs).mtimeMs < statSync(path.join(here, f)).mtimeMs,
    )
  if (stale && BUSYBOX_CANDIDATES.some((p) => existsSync(p))) buildInitramfs()
  if (!existsSync(initramfs))
    throw new Error(`${initramfs} is missing: run pnpm --filter @tsvmm/linux-guest build`)
  return { vmlinuz, initramfs, release, cmdline: TEST_CMDLINE }
}
