// The per-run disks. The payload is an ext4 image made by `mkfs.ext4 -d` straight from the
// repository (built, node_modules included), then pruned with debugfs of what is never sent;
// the guest mounts it read-write at the repository's own path. The job (what to run) comes on a
// second small disk, a tar archive, so it never shows up inside the repository.
import { lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { EXIT, KvmHostError } from './errors.mjs'
import { exec } from './exec.mjs'
import { lastLine } from './host-tools.mjs'

/**
 * Whether a repository path (relative, `/`-separated) stays out of the payload: `.git`, the
 * tool's own `.kvm-host`, every `.turbo`, and `node_modules/.cache`.
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
 * @typedef {object} RepoScan
 * @property {number} bytes bytes of regular files that will be sent
 * @property {number} entries entries that will be sent
 * @property {{ rel: string, dir: boolean }[]} excluded what mkfs copies but the payload drops,
 *   children before their directory
 */

/**
 * Walks the repository once: sizes what is sent, lists what is dropped.
 * @param {string} root
 * @returns {RepoScan}
 */
export function scanRepo(root) {
  /** @type {RepoScan} */
  const scan = { bytes: 0, entries: 0, excluded: [] }
  const walk = (/** @type {string} */ rel, /** @type {boolean} */ dropped) => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name
      const drop = dropped || excludedFromPayload(r)
      if (e.isDirectory()) walk(r, drop)
      if (drop) scan.excluded.push({ rel: r, dir: e.isDirectory() })
      else {
        scan.entries++
        if (e.isFile()) scan.bytes += lstatSync(path.join(root, r)).size
      }
    }
  }
  walk('', false)
  return scan
}

/**
 * Quotes a path for a debugfs command: double quotes, an embedded quote doubled. Names with a line
 * break cannot be written in a command file.
 * @param {string} p absolute path inside the image
 * @returns {string | undefined}
 */
export function debugfsQuote(p) {
  if (/[\n\r]/.test(p)) return undefined
  return `"${p.replaceAll('"', '""')}"`
}

/**
 * The debugfs commands that remove the excluded entries (and mkfs's lost+found) from the image.
 * An entry that cannot be quoted stays, and so does its directory: it costs room, nothing else.
 * @param {RepoScan['excluded']} excluded
 * @returns {string}
 */
export function pruneCommands(excluded) {
  const lines = []
  for (const { rel, dir } of [...excluded, { rel: 'lost+found', dir: true }]) {
    const q = debugfsQuote(`/${rel}`)
    if (q) lines.push(`${dir ? 'rmdir' : 'rm'} ${q}`)
  }
  return `${lines.join('\n')}\n`
}

/**
 * Size of the image: room for the tree twice over plus 1 GiB for what the command writes. The file
 * is sparse, so unused room costs nothing.
 * @param {number} bytes bytes of file data sent
 * @returns {number} MiB
 */
export function imageSizeMiB(bytes) {
  return Math.max(1024, Math.ceil((bytes * 2) / 2 ** 20) + 1024)
}

/**
 * Builds the payload image and the job disk for one run.
 * @param {{ runDir: string, repoRoot: string, jobScript: string, mkfs: string, debugfs: string }} p
 * @returns {Promise<{ image: string, jobDisk: string, bytes: number, entries: number }>}
 */
export async function buildPayload(p) {
  const scan = scanRepo(p.repoRoot)
  const image = path.join(p.runDir, 'payload.ext4')
  const inodes = Math.max(65_536, (scan.entries + scan.excluded.length) * 2 + 16_384)
  const mkfs = await exec(p.mkfs, [
    ...['-q', '-F', '-t', 'ext4', '-O', '^has_journal', '-L', 'payload'],
    ...['-E', 'lazy_itable_init=1,nodiscard', '-N', String(inodes)],
    ...['-d', p.repoRoot, image, `${imageSizeMiB(scan.bytes)}M`],
  ])
  if (mkfs.status !== 0)
    throw new KvmHostError(EXIT.HARNESS, `mkfs.ext4 -d of the payload: ${lastLine(mkfs.stderr)}`)
  const cmds = path.join(p.runDir, 'prune.debugfs')
  writeFileSync(cmds, pruneCommands(scan.excluded))
  const prune = await exec(p.debugfs, ['-w', '-f', cmds, image])
  if (prune.status !== 0)
    throw new KvmHostError(
      EXIT.HARNESS,
      `debugfs pruning of the payload: ${lastLine(prune.stderr)}`,
    )

  const job = path.join(p.runDir, 'job')
  mkdirSync(job)
  writeFileSync(path.join(job, 'run.sh'), p.jobScript)
  writeFileSync(path.join(job, 'repo'), `${p.repoRoot}\n`)
  const jobDisk = path.join(p.runDir, 'job.tar')
  const tar = await exec('tar', ['-cf', jobDisk, '-C', job, 'run.sh', 'repo'])
  if (tar.status !== 0)
    throw new KvmHostError(EXIT.HARNESS, `tar of the job: ${lastLine(tar.stderr)}`)
  return { image, jobDisk, bytes: scan.bytes, entries: scan.entries }
}
