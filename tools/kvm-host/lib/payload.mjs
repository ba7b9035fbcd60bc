// The per-run payload disk: an ext4 image holding /repo (the repository, built, node_modules
// included) and /job (what to run). The tree is staged with hard links, which costs no copy,
// and mkfs.ext4 -d turns it into the image; the guest mounts it read-write at the repository's path.
import {
  copyFileSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { EXIT, KvmHostError } from './errors.mjs'
import { exec } from './exec.mjs'
import { lastLine } from './host-tools.mjs'

/**
 * Whether a repository path (relative, `/`-separated) stays out of the payload: `.git`, the
 * per-run directory `.kvm-host`, every `.turbo`, and `node_modules/.cache`.
 * @param {string} rel
 */
export function excludedFromPayload(rel) {
  const parts = rel.split('/')
  if (parts[0] === '.git' || parts[0] === '.kvm-host') return true
  const last = parts[parts.length - 1]
  if (last === '.turbo') return true
  return last === '.cache' && parts[parts.length - 2] === 'node_modules'
}

/**
 * Mirrors `src` into `dest` with hard links (copies where linking fails), skipping excluded paths.
 * @param {string} src
 * @param {string} dest
 * @returns {{ files: number, bytes: number, entries: number }}
 */
export function stageTree(src, dest) {
  const stats = { files: 0, bytes: 0, entries: 0 }
  const walk = (/** @type {string} */ rel) => {
    const from = path.join(src, rel)
    mkdirSync(path.join(dest, rel), { recursive: true, mode: lstatSync(from).mode & 0o7777 })
    for (const e of readdirSync(from, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (excludedFromPayload(r)) continue
      const s = path.join(src, r)
      const d = path.join(dest, r)
      stats.entries++
      if (e.isDirectory()) walk(r)
      else if (e.isSymbolicLink()) symlinkSync(readlinkSync(s), d)
      else if (e.isFile()) {
        try {
          linkSync(s, d)
        } catch {
          copyFileSync(s, d)
        }
        stats.files++
        stats.bytes += lstatSync(s).size
      }
    }
  }
  walk('')
  return stats
}

/**
 * Size of the image: room for the tree twice over plus 1 GiB for what the command writes. The file
 * is sparse, so unused room costs nothing.
 * @param {number} bytes bytes of file data staged
 * @returns {number} MiB
 */
export function imageSizeMiB(bytes) {
  return Math.max(1024, Math.ceil((bytes * 2) / 2 ** 20) + 1024)
}

/**
 * Builds the payload image for one run.
 * @param {{ runDir: string, repoRoot: string, jobScript: string, mkfs: string }} p
 * @returns {Promise<{ image: string, files: number, bytes: number }>}
 */
export async function buildPayload(p) {
  const tree = path.join(p.runDir, 'payload')
  const stats = stageTree(p.repoRoot, path.join(tree, 'repo'))
  mkdirSync(path.join(tree, 'job'))
  writeFileSync(path.join(tree, 'job', 'run.sh'), p.jobScript)
  writeFileSync(path.join(tree, 'job', 'repo'), `${p.repoRoot}\n`)
  const image = path.join(p.runDir, 'payload.ext4')
  const inodes = Math.max(65_536, stats.entries * 2 + 16_384)
  const r = await exec(p.mkfs, [
    '-q',
    '-F',
    '-t',
    'ext4',
    '-O',
    '^has_journal',
    '-E',
    'lazy_itable_init=1,lazy_journal_init=1,nodiscard',
    '-N',
    String(inodes),
    '-L',
    'payload',
    '-d',
    tree,
    image,
    `${imageSizeMiB(stats.bytes)}M`,
  ])
  if (r.status !== 0)
    throw new KvmHostError(EXIT.HARNESS, `mkfs.ext4 -d of the payload: ${lastLine(r.stderr)}`)
  return { image, files: stats.files, bytes: stats.bytes }
}
