// The guest's base image: an initramfs (cpio newc, uncompressed) with busybox, the kernel modules
// and /init, and a read-only base disk with the caller's node and pnpm and the shared libraries
// they and native addons need. Built once per set of inputs and kept in the cache; the repository
// comes on a separate per-run disk.
import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { cacheKey, ensureEntry, pruneEntries } from './cache.mjs'
import { exec } from './exec.mjs'
import { GUEST_MODULES, resolveModules } from './modules.mjs'
import { PNPM_GUEST_BIN_DIR } from './pnpm.mjs'

const HERE = path.dirname(new URL(import.meta.url).pathname)
/** The guest's /init script. */
export const INIT_SCRIPT = path.join(HERE, '..', 'guest', 'init.sh')

/** glibc and C++ runtime libraries shipped besides node's own (native addons may want them). */
const EXTRA_LIBS = [
  'libc.so.6',
  'libm.so.6',
  'libdl.so.2',
  'libpthread.so.0',
  'librt.so.1',
  'libresolv.so.2',
  'libutil.so.1',
  'libgcc_s.so.1',
  'libstdc++.so.6',
  'libz.so.1',
]
const LIB_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu']

/**
 * Shared libraries a dynamic executable needs, as absolute paths (from ldd).
 * @param {string} exe
 * @returns {string[]}
 */
export function sharedLibraries(exe) {
  const r = spawnSync('ldd', [exe], { encoding: 'utf8' })
  if (r.status !== 0) return [] // static
  return [...r.stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => /** @type {string} */ (m[1]))
}

/**
 * Everything the base image is made of; a change in any of them gives another cache key.
 * @param {{ release: string, version: string }} kernel
 * @param {{ node: string, busybox: string, pnpm?: import('./pnpm.mjs').HostPnpm | undefined }} bins
 */
export function baseImageInputs(kernel, bins) {
  const node = realpathSync(bins.node)
  const pnpm = bins.pnpm
  const libs = [
    ...new Set([
      ...sharedLibraries(node),
      ...(pnpm ? sharedLibraries(pnpm.real) : []), // a native pnpm (>= 11) links glibc itself
      ...extraLibs(),
    ]),
  ].sort()
  const fileId = (/** @type {string} */ p) => {
    const s = statSync(p)
    return { p, size: s.size, mtime: Math.round(s.mtimeMs) }
  }
  const self = ['base-image.mjs', 'modules.mjs', 'pnpm.mjs'].map((f) =>
    readFileSync(path.join(HERE, f), 'utf8'),
  )
  const pkg = JSON.parse(readFileSync(path.join(HERE, '..', 'package.json'), 'utf8'))
  return {
    kernel: `${kernel.release} ${kernel.version}`,
    node: { ...fileId(node), version: process.version },
    busybox: fileId(bins.busybox),
    libs: libs.map(fileId),
    // Every file's size and mtime, not just the entry's: a reinstall or another version rebuilds.
    pnpm: pnpm
      ? {
          real: pnpm.real,
          root: pnpm.root,
          version: pnpm.version,
          files: pnpm.files.map((p) => {
            const s = lstatSync(p)
            return { p, size: s.size, mtime: Math.round(s.mtimeMs) }
          }),
        }
      : null,
    init: readFileSync(INIT_SCRIPT, 'utf8'),
    tool: { version: pkg.version, builder: cacheKey(self) },
    modules: GUEST_MODULES,
  }
}

function extraLibs() {
  /** @type {string[]} */
  const out = []
  for (const lib of EXTRA_LIBS) {
    const dir = LIB_DIRS.find((d) => existsSync(path.join(d, lib)))
    if (dir) out.push(path.join(dir, lib))
  }
  return out
}

/**
 * @typedef {object} BaseImage
 * @property {string} initramfs path of the cpio archive
 * @property {string} disk path of the base disk (node and its libraries; mounted read-only)
 * @property {string} nodePath where node sits in the guest (the caller's real path)
 * @property {string | undefined} pnpmDir guest directory with the `pnpm` command, when the caller
 *   has a pnpm
 * @property {string} key cache key
 */

/**
 * Returns the base image for this kernel, node and pnpm, building it into the cache when needed.
 * @param {string} cache cache root
 * @param {import('./kernel.mjs').Kernel} kernel
 * @param {{ node: string, busybox: string, cpio: string, mkfs: string,
 *   pnpm?: import('./pnpm.mjs').HostPnpm | undefined }} bins
 * @param {(msg: string) => void} note
 * @returns {Promise<BaseImage>}
 */
export async function ensureBaseImage(cache, kernel, bins, note) {
  const inputs = baseImageInputs(kernel, bins)
  const key = cacheKey(inputs)
  const entry = await ensureEntry(path.join(cache, 'images'), key, async (tmp) => {
    note(`building the guest base image ${key}`)
    const root = path.join(tmp, 'root')
    for (const d of [
      'bin',
      'sbin',
      'etc',
      'proc',
      'sys',
      'dev',
      'tmp',
      'root',
      'mnt',
      'lib/modules',
    ])
      mkdirSync(path.join(root, d), { recursive: true })
    // busybox and its applets
    copyFileSync(bins.busybox, path.join(root, 'bin', 'busybox'))
    chmodSync(path.join(root, 'bin', 'busybox'), 0o755)
    const list = spawnSync(bins.busybox, ['--list-full'], { encoding: 'utf8' }).stdout ?? ''
    for (const applet of list.split('\n').filter(Boolean)) {
      const dest = path.join(root, applet)
      if (existsSync(dest)) continue
      mkdirSync(path.dirname(dest), { recursive: true })
      symlinkSync('/bin/busybox', dest)
    }
    // node and its libraries live on the base disk (mounted at /base), each at its real path;
    // the initramfs links those paths there. A 110 MB initramfs cost 1.3 s of boot; the disk is
    // read on demand.
    const disk = path.join(tmp, 'disk')
    const node = inputs.node.p
    for (const f of [node, ...inputs.libs.map((l) => l.p)]) {
      place(f, disk)
      if (existsSync(path.join(root, f))) continue
      mkdirSync(path.dirname(path.join(root, f)), { recursive: true })
      symlinkSync(path.join('/base', f), path.join(root, f))
    }
    if (node !== '/usr/bin/node' && !existsSync(path.join(root, 'usr/bin/node')))
      symlinkSync(node, path.join(root, 'usr/bin/node'))
    // pnpm's package (dist/ with node-gyp, ~600 files) goes on the disk as a tree; the initramfs
    // links the package directory, not each file. `pnpm` on PATH links to the real entry, so a
    // native pnpm finds dist/ next to /proc/self/exe as it does here.
    if (inputs.pnpm) {
      for (const f of inputs.pnpm.files) placeEntry(f.p, disk)
      const pkg = inputs.pnpm.root
      // lstat, not existsSync: the links made above dangle on this host (they point into /base).
      if (!lstatSync(path.join(root, pkg), { throwIfNoEntry: false })) {
        mkdirSync(path.dirname(path.join(root, pkg)), { recursive: true })
        symlinkSync(path.join('/base', pkg), path.join(root, pkg))
      }
      mkdirSync(path.join(root, PNPM_GUEST_BIN_DIR), { recursive: true })
      symlinkSync(inputs.pnpm.real, path.join(root, PNPM_GUEST_BIN_DIR, 'pnpm'))
    }
    mkdirSync(path.join(root, 'base'))
    // Whole 4 KiB blocks per file (pnpm's dist/ is hundreds of small ones), plus room for metadata.
    const blocks = [inputs.node, ...inputs.libs, ...(inputs.pnpm?.files ?? [])].reduce(
      (n, f) => n + Math.ceil(f.size / 4096),
      0,
    )
    const mkfs = await exec(bins.mkfs, [
      ...['-q', '-F', '-t', 'ext4', '-O', '^has_journal', '-L', 'base', '-d', disk],
      ...[path.join(tmp, 'base.ext4'), `${Math.ceil((blocks * 4096) / 2 ** 20) + 64}M`],
    ])
    if (mkfs.status !== 0) throw new Error(`mkfs.ext4 of the base disk: ${mkfs.stderr}`)
    await exec('rm', ['-rf', disk])
    // modules, in load order
    const mods = resolveModules(kernel.modules, GUEST_MODULES)
    for (const m of mods) writeFileSync(path.join(root, 'lib/modules', `${m.name}.ko`), m.ko)
    writeFileSync(
      path.join(root, 'lib/modules/load-order'),
      `${mods.map((m) => m.name).join('\n')}\n`,
    )
    // the few /etc files libc and node look at
    writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
    writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\n')
    writeFileSync(path.join(root, 'etc/hosts'), '127.0.0.1 localhost\n::1 localhost\n')
    writeFileSync(path.join(root, 'etc/hostname'), 'kvm-host\n')
    copyFileSync(INIT_SCRIPT, path.join(root, 'init'))
    chmodSync(path.join(root, 'init'), 0o755)
    // The kernel opens /dev/console before /init mounts devtmpfs; mknod needs root, else skip.
    spawnSync('mknod', ['-m', '600', path.join(root, 'dev/console'), 'c', '5', '1'])
    const cpio = await exec('sh', [
      '-c',
      `cd "$1" && find . -print0 | LC_ALL=C sort -z | "$2" --null -o -H newc --quiet > "$3"`,
      'sh',
      root,
      bins.cpio,
      path.join(tmp, 'initramfs.cpio'),
    ])
    if (cpio.status !== 0) throw new Error(`cpio: ${cpio.stderr}`)
    await exec('rm', ['-rf', root])
    // image.json is for people: pnpm's hundreds of file ids would bury the rest.
    const pnpmSummary = inputs.pnpm && { ...inputs.pnpm, files: inputs.pnpm.files.length }
    writeFileSync(
      path.join(tmp, 'image.json'),
      `${JSON.stringify({ key, inputs: { ...inputs, init: undefined, pnpm: pnpmSummary }, modules: mods.map((m) => m.name) }, null, 1)}\n`,
    )
  })
  pruneEntries(entry, 3)
  return {
    initramfs: path.join(entry, 'initramfs.cpio'),
    disk: path.join(entry, 'base.ext4'),
    nodePath: inputs.node.p,
    pnpmDir: inputs.pnpm ? PNPM_GUEST_BIN_DIR : undefined,
    key,
  }
}

/**
 * Copies a host file into the image root at the same absolute path.
 * @param {string} file
 * @param {string} root
 */
function place(file, root) {
  const dest = path.join(root, file)
  mkdirSync(path.dirname(dest), { recursive: true })
  copyFileSync(realpathSync(file), dest)
  chmodSync(dest, statSync(file).mode & 0o7777)
}

/**
 * Copies a host file or symbolic link into the image root at the same absolute path, as it is:
 * a link stays a link (a package's own links point inside it).
 * @param {string} file
 * @param {string} root
 */
function placeEntry(file, root) {
  const dest = path.join(root, file)
  mkdirSync(path.dirname(dest), { recursive: true })
  const s = lstatSync(file)
  if (s.isSymbolicLink()) symlinkSync(readlinkSync(file), dest)
  else {
    copyFileSync(file, dest)
    chmodSync(dest, s.mode & 0o7777)
  }
}
