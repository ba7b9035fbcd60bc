// The guest kernel: Debian's cloud kernel with CONFIG_KVM_XEN=y (bookworm-backports' 6.12 on
// bookworm, whose own 6.1 lacks it; trixie's own 6.12 on trixie), fetched with a private APT configuration so the machine's
// sources stay untouched, unpacked with dpkg-deb and never installed.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { ensureEntry, pruneEntries } from './cache.mjs'
import { EXIT, KvmHostError } from './errors.mjs'
import { exec } from './exec.mjs'
import { lastLine } from './host-tools.mjs'

/** Metapackage whose dependency names the current cloud kernel. */
export const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64'

/** How long a resolved kernel version is trusted before APT is asked again. */
const RESOLVE_TTL_MS = 24 * 3600_000

/**
 * @typedef {object} Kernel
 * @property {string} pkg package name, e.g. linux-image-6.12.95+deb12-cloud-amd64
 * @property {string} version package version
 * @property {string} release kernel release (uname -r)
 * @property {string} vmlinuz path of the kernel image
 * @property {string} modules path of lib/modules/<release>
 */

/**
 * Reads the Debian mirror and codename this machine's APT uses.
 * @param {string} [etc] /etc
 * @returns {{ mirror: string, codename: string }}
 */
export function debianSources(etc = '/etc') {
  const osRelease = safeRead(path.join(etc, 'os-release'))
  const codename = /^VERSION_CODENAME=(\S+)$/m.exec(osRelease)?.[1] ?? 'bookworm'
  const files = [path.join(etc, 'apt', 'sources.list')]
  const dir = path.join(etc, 'apt', 'sources.list.d')
  // APT itself reads only *.list and *.sources there (not *.disabled, *.save, ...).
  if (existsSync(dir))
    for (const f of readdirSync(dir).sort())
      if (/\.(list|sources)$/.test(f)) files.push(path.join(dir, f))
  const text = files.map(safeRead).join('\n')
  return { mirror: pickMirror(text, codename), codename }
}

/**
 * Picks the Debian archive URI (not the security one) among APT sources, one-line or deb822.
 * @param {string} text concatenated sources files
 * @param {string} codename
 * @returns {string}
 */
export function pickMirror(text, codename) {
  const debian = aptEntries(text).filter(
    (e) => !/security/.test(e.uri) && /^https?:\/\//.test(e.uri),
  )
  const hit =
    debian.find((e) => e.suites.includes(codename)) ??
    debian.find((e) => /\/debian\/?$/.test(e.uri))
  return (hit?.uri ?? 'http://deb.debian.org/debian').replace(/\/$/, '')
}

/**
 * The `deb` entries of APT sources text, one-line or deb822 (deb-src and disabled ones aside).
 * @param {string} text concatenated sources files
 * @returns {{ uri: string, suites: string[] }[]}
 */
export function aptEntries(text) {
  /** @type {{ uri: string, suites: string[] }[]} */
  const entries = []
  for (const line of text.split('\n')) {
    const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line)
    if (m)
      entries.push({ uri: /** @type {string} */ (m[1]), suites: [/** @type {string} */ (m[2])] })
  }
  for (const stanza of text.split(/\n\s*\n/)) {
    const types = /^Types:\s*(.+)$/im.exec(stanza)?.[1]?.trim().split(/\s+/) ?? []
    if (!types.includes('deb') || /^Enabled:\s*no\s*$/im.test(stanza)) continue
    const uris = /^URIs:\s*(.+)$/im.exec(stanza)?.[1]?.trim().split(/\s+/) ?? []
    const suites = /^Suites:\s*(.+)$/im.exec(stanza)?.[1]?.trim().split(/\s+/) ?? []
    for (const uri of uris) entries.push({ uri, suites })
  }
  return entries
}

/** @param {string} p */
function safeRead(p) {
  try {
    return readFileSync(p, 'utf8')
  } catch {
    return ''
  }
}

/**
 * Writes the private APT configuration under `dir` and returns the environment that selects it.
 * @param {string} dir
 * @param {string} mirror
 * @param {string} suite
 */
function privateApt(dir, mirror, suite) {
  for (const d of [
    'lists/partial',
    'cache/archives/partial',
    'etc/preferences.d',
    'etc/sources.list.d',
  ])
    mkdirSync(path.join(dir, d), { recursive: true })
  writeFileSync(
    path.join(dir, 'etc', 'sources.list'),
    `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} ${suite} main\n`,
  )
  if (!existsSync(path.join(dir, 'status'))) writeFileSync(path.join(dir, 'status'), '')
  const conf = [
    `Dir::Etc::SourceList "${dir}/etc/sources.list";`,
    `Dir::Etc::SourceParts "${dir}/etc/sources.list.d";`,
    `Dir::Etc::Preferences "${dir}/etc/preferences";`,
    `Dir::Etc::PreferencesParts "${dir}/etc/preferences.d";`,
    `Dir::State::Lists "${dir}/lists";`,
    `Dir::State::status "${dir}/status";`,
    `Dir::Cache "${dir}/cache";`,
    'APT::Sandbox::User "root";',
  ]
  writeFileSync(path.join(dir, 'apt.conf'), `${conf.join('\n')}\n`)
  return {
    ...process.env,
    APT_CONFIG: path.join(dir, 'apt.conf'),
    DEBIAN_FRONTEND: 'noninteractive',
  }
}

/**
 * Asks APT which kernel package the metapackage points at now, and its version.
 * @param {NodeJS.ProcessEnv} env with APT_CONFIG
 */
async function resolveKernel(env) {
  const up = await exec('apt-get', ['update', '-q'], { env })
  if (up.status !== 0) throw new Error(`apt-get update: ${lastLine(up.stderr || up.stdout)}`)
  const pinned = process.env.TSVMM_KVM_HOST_KERNEL_PACKAGE
  let pkg = pinned
  if (!pkg) {
    const dep = await exec('apt-cache', ['depends', KERNEL_METAPACKAGE], { env })
    pkg = /Depends:\s*(linux-image-\S+)/.exec(dep.stdout)?.[1]
    if (!pkg) throw new Error(`apt-cache depends ${KERNEL_METAPACKAGE}: no linux-image dependency`)
  }
  const show = await exec('apt-cache', ['show', '--no-all-versions', pkg], { env })
  const version = /^Version:\s*(\S+)$/m.exec(show.stdout)?.[1]
  if (!version) throw new Error(`apt-cache show ${pkg}: not found`)
  const size = Number(/^Size:\s*(\d+)$/m.exec(show.stdout)?.[1] ?? 0)
  return { pkg, version, size }
}

/**
 * Returns the guest kernel, downloading and unpacking it into the cache when needed. APT is asked
 * for the current version at most once a day (TSVMM_KVM_HOST_REFRESH=1 forces it); without
 * network, the last kernel fetched is used.
 * @param {string} cache cache root
 * @param {(msg: string) => void} note
 * @returns {Promise<Kernel>}
 */
export async function ensureKernel(cache, note) {
  const dir = path.join(cache, 'kernel')
  const currentFile = path.join(dir, 'current.json')
  /** @type {{ pkg: string, version: string, size?: number, resolvedAt: number } | undefined} */
  let current
  try {
    current = JSON.parse(readFileSync(currentFile, 'utf8'))
  } catch {}
  const entryOf = (/** @type {{ pkg: string, version: string }} */ c) =>
    path.join(dir, `${c.pkg}_${c.version}`.replace(/[^A-Za-z0-9.+_-]/g, '_'))
  const fresh =
    current &&
    Date.now() - current.resolvedAt < RESOLVE_TTL_MS &&
    existsSync(path.join(entryOf(current), '.complete')) &&
    process.env.TSVMM_KVM_HOST_REFRESH !== '1'
  const { mirror, codename } = debianSources()
  const suite = codename === 'bookworm' ? 'bookworm-backports' : codename
  const env = privateApt(path.join(cache, 'apt'), mirror, suite)
  if (!fresh) {
    try {
      const r = await resolveKernel(env)
      current = { ...r, resolvedAt: Date.now() }
      mkdirSync(dir, { recursive: true })
      writeFileSync(currentFile, `${JSON.stringify(current)}\n`)
    } catch (err) {
      if (!current || !existsSync(path.join(entryOf(current), '.complete')))
        throw new KvmHostError(
          EXIT.KERNEL,
          `cannot find the guest kernel in ${mirror} ${suite}: ${/** @type {Error} */ (err).message}`,
          'the Debian archive must be reachable once; set TSVMM_KVM_HOST_KERNEL_PACKAGE to pin one',
        )
      note(`APT unreachable, using the cached kernel ${current.pkg} ${current.version}`)
    }
  }
  const c = /** @type {{ pkg: string, version: string, size?: number }} */ (current)
  const entry = path.join(dir, path.basename(entryOf(c)))
  await ensureEntry(dir, path.basename(entry), async (tmp) => {
    const mb = c.size ? ` (${Math.round(c.size / 1e6)} MB)` : ''
    note(`downloading the guest kernel ${c.pkg} ${c.version}${mb} from ${mirror} ${suite}, once`)
    mkdirSync(tmp, { recursive: true })
    const dl = await exec('apt-get', ['download', `${c.pkg}=${c.version}`], { cwd: tmp, env })
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'))
    if (dl.status !== 0 || !deb)
      throw new KvmHostError(
        EXIT.KERNEL,
        `apt-get download ${c.pkg}=${c.version}: ${lastLine(dl.stderr || dl.stdout)}`,
      )
    const x = await exec('dpkg-deb', ['-x', deb, 'root'], { cwd: tmp })
    if (x.status !== 0)
      throw new KvmHostError(EXIT.KERNEL, `dpkg-deb -x ${deb}: ${lastLine(x.stderr)}`)
    // bookworm's kernels ship lib/modules; trixie's (merged /usr) ship usr/lib/modules.
    const modulesDir = ['lib/modules', 'usr/lib/modules']
      .map((d) => path.join(tmp, 'root', d))
      .find((d) => existsSync(d) && readdirSync(d).length > 0)
    const release = modulesDir && readdirSync(modulesDir)[0]
    if (!modulesDir || !release)
      throw new KvmHostError(EXIT.KERNEL, `${deb} has no lib/modules or usr/lib/modules`)
    const config = readFileSync(path.join(tmp, 'root', 'boot', `config-${release}`), 'utf8')
    for (const opt of ['CONFIG_KVM_XEN=y', 'CONFIG_EXT4_FS=y', 'CONFIG_DEVTMPFS=y'])
      if (!config.split('\n').includes(opt))
        throw new KvmHostError(EXIT.KERNEL, `${c.pkg} lacks ${opt}`, 'pin another kernel package')
    renameSync(path.join(tmp, 'root', 'boot', `vmlinuz-${release}`), path.join(tmp, 'vmlinuz'))
    renameSync(path.join(tmp, 'root', 'boot', `config-${release}`), path.join(tmp, 'config'))
    renameSync(path.join(modulesDir, release), path.join(tmp, 'modules'))
    await exec('rm', ['-rf', path.join(tmp, 'root'), path.join(tmp, deb)])
    writeFileSync(path.join(tmp, 'kernel.json'), `${JSON.stringify({ ...c, release })}\n`)
  })
  pruneEntries(entry, 2)
  const meta = JSON.parse(readFileSync(path.join(entry, 'kernel.json'), 'utf8'))
  return {
    pkg: meta.pkg,
    version: meta.version,
    release: meta.release,
    vmlinuz: path.join(entry, 'vmlinuz'),
    modules: path.join(entry, 'modules'),
  }
}
