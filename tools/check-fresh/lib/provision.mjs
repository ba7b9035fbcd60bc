// What every machine of this kind has besides its Debian packages, copied from this host into a
// fresh root: Node 20 and npm, Node's headers, the CA bundle, npm's global config and the CA
// environment variables. Nothing else of the host goes in (no pnpm, no libxen-dev, no QEMU).
import { cpSync, existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { rootSources } from './root.mjs'

/** Host paths copied as they are, when present. */
export const HOST_FILES = Object.freeze([
  '/usr/lib/node_modules/npm',
  '/usr/include/node',
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/npmrc',
  '/usr/etc/npmrc',
])

/**
 * The environment a newcomer's shell has: PATH, an empty HOME, the locale, and the host's CA and
 * proxy variables (a machine of this kind sets them; they point at the copied bundle).
 * @param {NodeJS.ProcessEnv} hostEnv
 * @param {string} home
 * @returns {Record<string, string>}
 */
export function freshEnv(hostEnv, home) {
  /** @type {Record<string, string>} */
  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: home,
    USER: 'root',
    LANG: 'C.UTF-8',
    TERM: 'dumb',
  }
  for (const [k, v] of Object.entries(hostEnv)) {
    if (v === undefined) continue
    const ca = /CA|CERT/i.test(k) && /^\/etc\/ssl\//.test(v)
    const proxy = /^(https?|no|all)_proxy$/i.test(k)
    if (ca || proxy) env[k] = v
  }
  return env
}

/**
 * Copies node (the binary behind `process.execPath`), npm and the rest into `root`, and points the
 * root's APT at the host's mirrors.
 * @param {string} root
 * @param {string} release
 * @param {{ archive: string, security: string | undefined }} mirrors
 */
export function provisionRoot(root, release, mirrors) {
  const inRoot = (/** @type {string} */ p) => path.join(root, p)
  const node = realpathSync(process.execPath)
  mkdirSync(inRoot('/usr/bin'), { recursive: true })
  cpSync(node, inRoot('/usr/bin/node'))
  for (const p of HOST_FILES) {
    if (!existsSync(p)) continue
    mkdirSync(path.dirname(inRoot(p)), { recursive: true })
    cpSync(p, inRoot(p), { recursive: true, dereference: false, force: true })
  }
  for (const bin of ['npm', 'npx']) {
    const link = inRoot(`/usr/bin/${bin}`)
    if (!existsSync(link)) symlinkSync(`../lib/node_modules/npm/bin/${bin}-cli.js`, link)
  }
  // The network configuration of the machine the root stands for: this host's resolver.
  if (existsSync('/etc/resolv.conf'))
    cpSync('/etc/resolv.conf', inRoot('/etc/resolv.conf'), { dereference: true })
  writeFileSync(inRoot('/etc/apt/sources.list.d/debian.sources'), rootSources(release, mirrors))
  writeFileSync(inRoot('/etc/apt/sources.list'), '')
}
