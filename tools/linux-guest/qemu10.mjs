// QEMU 10 from Debian's bookworm-backports, for `pnpm compare:qemu`: downloaded (never installed)
// with a private APT configuration, unpacked with dpkg-deb, and bundled with the host libraries
// it links (ldd) and the dynamic loader under build/qemu10/, because inside the emulated KVM host
// only the repository is visible. The recipe is shared/nested-kvm/l2xen/fetch-qemu10.sh's.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { debianSources } from '../kvm-host/lib/kernel.mjs'
import { BUILD_DIR } from './index.mjs'

/** Where the bundle goes. */
export const QEMU_DIR = path.join(BUILD_DIR, 'qemu10')
const PACKAGES = ['qemu-system-x86', 'qemu-system-data', 'seabios']

/** @param {string} cmd @param {string[]} args @param {object} [opts] */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts })
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout || '').trim().split('\n').at(-1)}`,
    )
  return r.stdout
}

/**
 * The bundle: the loader, the library directory, the binary and the firmware directory.
 * @param {(m: string) => void} [note]
 */
export function ensureQemu10(note = () => {}) {
  const root = path.join(QEMU_DIR, 'root')
  const lib = path.join(QEMU_DIR, 'lib')
  const bin = path.join(root, 'usr', 'bin', 'qemu-system-x86_64')
  const done = path.join(QEMU_DIR, '.complete')
  const bundle = {
    loader: path.join(lib, 'ld-linux-x86-64.so.2'),
    lib,
    bin,
    data: path.join(root, 'usr', 'share', 'qemu'),
    seabios: path.join(root, 'usr', 'share', 'seabios'),
    modules: path.join(QEMU_DIR, 'no-modules'),
  }
  if (existsSync(done)) return bundle
  note('fetching QEMU 10 from bookworm-backports (once)')
  const apt = path.join(QEMU_DIR, 'apt')
  for (const d of [
    'lists/partial',
    'cache/archives/partial',
    'etc/preferences.d',
    'etc/sources.list.d',
  ])
    mkdirSync(path.join(apt, d), { recursive: true })
  const { mirror } = debianSources()
  const key = '[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]'
  writeFileSync(
    path.join(apt, 'etc', 'sources.list'),
    `${['bookworm', 'bookworm-updates', 'bookworm-backports'].map((s) => `deb ${key} ${mirror} ${s} main`).join('\n')}\n`,
  )
  // Resolve against what this machine has (a copy of its dpkg status): only the rest is fetched.
  copyFileSync('/var/lib/dpkg/status', path.join(apt, 'status'))
  const conf = [
    `Dir::Etc::SourceList "${apt}/etc/sources.list";`,
    `Dir::Etc::SourceParts "${apt}/etc/sources.list.d";`,
    `Dir::Etc::Preferences "${apt}/etc/preferences";`,
    `Dir::Etc::PreferencesParts "${apt}/etc/preferences.d";`,
    `Dir::State::Lists "${apt}/lists";`,
    `Dir::State::status "${apt}/status";`,
    `Dir::Cache "${apt}/cache";`,
    'Debug::NoLocking "1";',
    'APT::Sandbox::User "root";',
    'APT::Install-Recommends "0";',
  ]
  writeFileSync(path.join(apt, 'apt.conf'), `${conf.join('\n')}\n`)
  const env = {
    ...process.env,
    APT_CONFIG: path.join(apt, 'apt.conf'),
    DEBIAN_FRONTEND: 'noninteractive',
  }
  run('apt-get', ['update', '-q'], { env })
  run('apt-get', ['install', '-y', '-d', '-t', 'bookworm-backports', ...PACKAGES], { env })
  const debs = path.join(apt, 'cache', 'archives')
  mkdirSync(root, { recursive: true })
  for (const d of readdirSync(debs).filter((f) => f.endsWith('.deb')))
    run('dpkg-deb', ['-x', path.join(debs, d), root])
  // The libraries: the bundle's own first, then the host's, as ldd resolves them here.
  mkdirSync(lib, { recursive: true })
  const ldd = run('ldd', [bin], {
    env: { ...process.env, LD_LIBRARY_PATH: ownLibDirs(root).join(':') },
  })
  for (const m of ldd.matchAll(/=>\s+(\/\S+)|^\s+(\/\S+ld-linux\S*)/gm)) {
    const from = m[1] ?? m[2]
    if (from) copyFileSync(from, path.join(lib, path.basename(from)))
  }
  if (!existsSync(bundle.loader)) copyFileSync('/lib64/ld-linux-x86-64.so.2', bundle.loader)
  mkdirSync(bundle.modules, { recursive: true })
  run(bundle.loader, ['--library-path', lib, bin, '--version'])
  // The payload of every kvm-host run carries build/: keep only what a boot uses.
  for (const d of [
    apt,
    path.join(root, 'usr', 'share', 'doc'),
    path.join(root, 'usr', 'share', 'man'),
    path.join(root, 'usr', 'lib', 'x86_64-linux-gnu', 'qemu'),
  ])
    rmSync(d, { recursive: true, force: true })
  for (const f of readdirSync(path.dirname(bin)))
    if (f !== path.basename(bin)) rmSync(path.join(path.dirname(bin), f), { force: true })
  writeFileSync(done, '')
  return bundle
}

/** @param {string} root */
function ownLibDirs(root) {
  return ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu']
    .map((d) => path.join(root, d))
    .filter((d) => existsSync(d))
}
