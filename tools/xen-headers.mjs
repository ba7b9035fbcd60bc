// Xen's public headers for the tests that compare the project's ABI with Xen's own (kvm-sys's abi
// test, xen-evtchn's layout test, the guests' xen-abi test). The build never needs them; the tests
// do, so a machine without libxen-dev gets them the way tools/kvm-host gets its kernel: `apt-get
// download libxen-dev` and `dpkg-deb -x` into a cache outside the repository, never installed.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ensureEntry, withLock } from './kvm-host/lib/cache.mjs'
import { exec } from './kvm-host/lib/exec.mjs'
import { lastLine } from './kvm-host/lib/host-tools.mjs'

export const XEN_HEADERS_PACKAGE = 'libxen-dev'

/**
 * @typedef {object} XenHeadersOptions
 * @property {string} [include] where to look first: $TSVMM_XEN_INCLUDE, else /usr/include
 * @property {string} [cache] $TSVMM_XEN_HEADERS_CACHE, else ~/.cache/tsvmm/xen-headers
 * @property {(msg: string) => void} [note] progress line (stderr by default)
 */

/**
 * Returns an include directory `D` with `D/xen/xen.h`: the machine's own when libxen-dev is
 * installed, else libxen-dev's headers fetched into the cache (one entry per package version).
 * Throws an Error whose message is one line saying what to do when neither works.
 * @param {XenHeadersOptions} [opts]
 * @returns {Promise<string>}
 */
export async function xenIncludeDir(opts = {}) {
  const include = opts.include ?? (process.env.TSVMM_XEN_INCLUDE || '/usr/include')
  if (existsSync(path.join(include, 'xen', 'xen.h'))) return include
  const cache =
    opts.cache ??
    (process.env.TSVMM_XEN_HEADERS_CACHE ||
      path.join(os.homedir(), '.cache', 'tsvmm', 'xen-headers'))
  const note = opts.note ?? ((/** @type {string} */ m) => process.stderr.write(`${m}\n`))
  // Several test files start at once (turbo runs packages in parallel): one fetches, the rest wait.
  return withLock(path.join(cache, '.lock'), () => fetchHeaders(cache, include, note))
}

/**
 * @param {string} cache
 * @param {string} include
 * @param {(msg: string) => void} note
 */
async function fetchHeaders(cache, include, note) {
  const fail = (/** @type {string} */ why) =>
    new Error(
      `xen-headers: no ${include}/xen/xen.h and ${why}; install ${XEN_HEADERS_PACKAGE} ` +
        `(apt-get install ${XEN_HEADERS_PACKAGE}) or set TSVMM_XEN_INCLUDE to a directory with xen/xen.h`,
    )
  let version = await candidateVersion()
  if (!version && process.getuid?.() === 0) {
    // A fresh machine may have no package lists yet (as after debootstrap).
    await exec('apt-get', ['update', '-q'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
    version = await candidateVersion()
  }
  if (!version) {
    const cached = newestEntry(cache)
    if (cached) return cached
    throw fail(`apt-cache knows no ${XEN_HEADERS_PACKAGE} (run apt-get update as root)`)
  }
  const key = version.replace(/[^A-Za-z0-9.+_-]/g, '_')
  const entry = await ensureEntry(cache, key, async (tmp) => {
    note(
      `xen-headers: fetching ${XEN_HEADERS_PACKAGE} ${version} (Xen's public headers, for tests)`,
    )
    mkdirSync(tmp, { recursive: true })
    const dl = await exec(
      'apt-get',
      ['download', '-q', '-o', 'APT::Sandbox::User=root', `${XEN_HEADERS_PACKAGE}=${version}`],
      { cwd: tmp },
    )
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'))
    if (dl.status !== 0 || !deb)
      throw fail(`apt-get download failed: ${lastLine(dl.stderr || dl.stdout)}`)
    const x = await exec('dpkg-deb', ['-x', deb, 'root'], { cwd: tmp })
    if (x.status !== 0) throw fail(`dpkg-deb -x ${deb} failed: ${lastLine(x.stderr)}`)
    await exec('rm', ['-f', path.join(tmp, deb)])
  })
  const dir = path.join(entry, 'root', 'usr', 'include')
  if (!existsSync(path.join(dir, 'xen', 'xen.h')))
    throw fail(`${XEN_HEADERS_PACKAGE} ${version} has no usr/include/xen/xen.h`)
  return dir
}

/** The version apt would install, or undefined when apt knows no such package. */
async function candidateVersion() {
  const r = await exec('apt-cache', ['show', '--no-all-versions', XEN_HEADERS_PACKAGE])
  return r.status === 0 ? /^Version:\s*(\S+)$/m.exec(r.stdout)?.[1] : undefined
}

/**
 * The most recently fetched complete entry's include directory (used when apt cannot answer).
 * @param {string} cache
 */
function newestEntry(cache) {
  if (!existsSync(cache)) return undefined
  const dirs = readdirSync(cache)
    .filter((n) => existsSync(path.join(cache, n, '.complete')))
    .map((n) => path.join(cache, n, 'root', 'usr', 'include'))
    .filter((d) => existsSync(path.join(d, 'xen', 'xen.h')))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
  return dirs[0]
}
