// A bare Debian root like a fresh machine of this kind: debootstrap --variant=minbase plus exactly
// the packages such a machine has for building (FRESH_PACKAGES), made once per release and kept as a
// tarball outside the repository; each run unpacks its own copy.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import { cacheKey, withLock } from '../../kvm-host/lib/cache.mjs'
import { exec } from '../../kvm-host/lib/exec.mjs'
import { lastLine } from '../../kvm-host/lib/host-tools.mjs'
import { aptEntries, pickMirror } from '../../kvm-host/lib/kernel.mjs'

/** What a machine of this kind has besides the minimal base system (issue 10). */
export const FRESH_PACKAGES = Object.freeze([
  'gcc',
  'g++',
  'make',
  'python3',
  'xz-utils',
  'e2fsprogs',
  'git',
  'ca-certificates',
  'procps',
])

/** The releases a machine of this kind may run. */
export const RELEASES = Object.freeze(['bookworm', 'trixie'])

/**
 * The cache of root tarballs: $TSVMM_FRESH_CACHE, else /var/cache/tsvmm/roots.
 * @param {NodeJS.ProcessEnv} [env]
 */
export function rootsCache(env = process.env) {
  return env.TSVMM_FRESH_CACHE || '/var/cache/tsvmm/roots'
}

/**
 * The host's Debian archive and security mirrors, read from its APT sources (never built in).
 * @param {string} [etc]
 * @returns {{ archive: string, security: string | undefined }}
 */
export function hostMirrors(etc = '/etc') {
  const text = aptSourcesText(etc)
  const entries = aptEntries(text)
  const security = entries.find((e) => /security/.test(e.uri) && /^https?:\/\//.test(e.uri))?.uri
  const codename = /^VERSION_CODENAME=(\S+)$/m.exec(safeRead(path.join(etc, 'os-release')))?.[1]
  return {
    archive: pickMirror(text, codename ?? ''),
    security: security?.replace(/\/$/, ''),
  }
}

/**
 * The text of every APT sources file APT reads under `etc`.
 * @param {string} etc
 */
export function aptSourcesText(etc) {
  const files = [path.join(etc, 'apt', 'sources.list')]
  const dir = path.join(etc, 'apt', 'sources.list.d')
  if (existsSync(dir))
    for (const f of readDirSorted(dir))
      if (/\.(list|sources)$/.test(f)) files.push(path.join(dir, f))
  return files.map(safeRead).join('\n\n')
}

/**
 * The deb822 sources file a root of `release` gets, pointing at the host's mirrors.
 * @param {string} release
 * @param {{ archive: string, security: string | undefined }} mirrors
 */
export function rootSources(release, mirrors) {
  const stanza = (/** @type {string} */ uri, /** @type {string} */ suites) =>
    [
      'Types: deb',
      `URIs: ${uri}`,
      `Suites: ${suites}`,
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
    ].join('\n')
  const out = [stanza(mirrors.archive, `${release} ${release}-updates`)]
  if (mirrors.security) out.push(stanza(mirrors.security, `${release}-security`))
  return `${out.join('\n\n')}\n`
}

/**
 * Returns the tarball of a fresh `release` root, running debootstrap when it is not cached.
 * @param {string} release
 * @param {(msg: string) => void} note
 * @returns {Promise<string>}
 */
export async function ensureRootTarball(release, note) {
  const dir = rootsCache()
  const mirrors = hostMirrors()
  const key = cacheKey({ release, packages: FRESH_PACKAGES, archive: mirrors.archive, v: 1 })
  const tarball = path.join(dir, `${release}-${key}.tar`)
  if (existsSync(tarball)) return tarball
  return withLock(path.join(dir, `${release}.lock`), async () => {
    if (existsSync(tarball)) return tarball
    const tmp = `${tarball}.tmp-${process.pid}`
    rmSync(tmp, { recursive: true, force: true })
    mkdirSync(tmp, { recursive: true })
    const started = Date.now()
    note(`debootstrap --variant=minbase ${release} from ${mirrors.archive} (about 1-3 min, once)`)
    try {
      const args = [
        '--variant=minbase',
        `--include=${FRESH_PACKAGES.join(',')}`,
        release,
        path.join(tmp, 'root'),
        mirrors.archive,
      ]
      const r = await exec('debootstrap', args)
      if (r.status !== 0)
        throw new Error(
          `debootstrap ${release} failed: ${lastLine(r.stderr || r.stdout)} (see ${path.join(tmp, 'root', 'debootstrap', 'debootstrap.log')})`,
        )
      // A root as a machine would have it: its sources point at the host's mirrors, no .debs left.
      await exec('sh', [
        '-c',
        'rm -f "$1"/var/cache/apt/archives/*.deb; find "$1"/var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete',
        'sh',
        path.join(tmp, 'root'),
      ])
      const t = await exec('tar', ['-C', path.join(tmp, 'root'), '-cf', `${tmp}/root.tar`, '.'])
      if (t.status !== 0)
        throw new Error(`tar of the ${release} root failed: ${lastLine(t.stderr)}`)
      renameSync(`${tmp}/root.tar`, tarball)
      note(`${release} root ready in ${Math.round((Date.now() - started) / 1000)} s: ${tarball}`)
      return tarball
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  })
}

/** @param {string} p */
function safeRead(p) {
  try {
    return readFileSync(p, 'utf8')
  } catch {
    return ''
  }
}

/** @param {string} dir */
function readDirSorted(dir) {
  try {
    return readdirSync(dir).sort()
  } catch {
    return []
  }
}
