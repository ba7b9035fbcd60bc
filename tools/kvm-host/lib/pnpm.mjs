// The caller's pnpm, for the guest: which pnpm it is and which of its files the base disk must
// carry so that `pnpm <script>` runs there as it does here. The guest has no network, so it must
// be the same pnpm (a different one would try to fetch `packageManager`'s version).
import { accessSync, constants, lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import path from 'node:path'

/**
 * Guest directory that holds the `pnpm` command (a link to the real entry); it goes on the job's
 * PATH. kvm-host's own directory, so the link never lands inside a directory the initramfs links
 * to the read-only base disk, whatever layout the caller's pnpm has.
 */
export const PNPM_GUEST_BIN_DIR = '/opt/kvm-host/bin'

/**
 * @typedef {object} HostPnpm
 * @property {string} real real path of pnpm's entry: the native binary (pnpm >= 11) or the script
 *   node runs (pnpm <= 10, `bin/pnpm.cjs`)
 * @property {string} root what the base disk carries: the pnpm package directory around `real`,
 *   or `real` itself for a standalone binary
 * @property {string} version the package's version ('' for a standalone binary)
 * @property {string[]} files absolute host paths the guest needs (files and symbolic links), sorted
 */

/**
 * Finds the caller's pnpm: the one running kvm-host (`pnpm kvm-host`, whose `npm_execpath` names
 * it), otherwise the first `pnpm` on PATH. Returns undefined when there is none.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {HostPnpm | undefined}
 */
export function findPnpm(env = process.env) {
  // npm_execpath first: under corepack the PATH's pnpm is a shim that downloads pnpm on first
  // use, which the offline guest cannot do; npm_execpath is the pnpm that actually runs.
  const fromPnpm =
    env.npm_config_user_agent?.startsWith('pnpm/') && env.npm_execpath
      ? executable(env.npm_execpath)
      : undefined
  const entry = fromPnpm ?? onPath('pnpm', env.PATH ?? '')
  if (!entry) return undefined
  const real = realpathSync(entry)
  const pkg = pnpmPackage(real)
  if (!pkg) return { real, root: real, version: '', files: [real] }
  return { real, root: pkg.dir, version: pkg.version, files: packageFiles(pkg.dir, real) }
}

/**
 * The first executable regular file named `name` in a PATH string, like the shell's lookup.
 * @param {string} name
 * @param {string} pathVar
 * @returns {string | undefined}
 */
export function onPath(name, pathVar) {
  for (const dir of pathVar.split(':')) {
    if (!path.isAbsolute(dir)) continue // "" or "." would depend on kvm-host's own cwd
    const found = executable(path.join(dir, name))
    if (found) return found
  }
  return undefined
}

/** @param {string} file @returns {string | undefined} */
function executable(file) {
  try {
    accessSync(file, constants.X_OK)
    return lstatSync(realpathSync(file)).isFile() ? file : undefined
  } catch {
    return undefined
  }
}

/**
 * The npm package `real` belongs to, when it is pnpm's: the nearest package.json above it,
 * named `pnpm` or `@pnpm/...` (e.g. `@pnpm/exe`).
 * @param {string} real
 * @returns {{ dir: string, version: string } | undefined}
 */
export function pnpmPackage(real) {
  for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
    let manifest
    try {
      manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
    } catch {
      if (dir === path.dirname(dir)) return undefined
      continue
    }
    const name = String(manifest?.name ?? '')
    if (name !== 'pnpm' && !name.startsWith('@pnpm/')) return undefined
    return { dir, version: String(manifest.version ?? '') }
  }
}

/**
 * The files of the pnpm package the guest needs, without what only costs space:
 * - the package's own top-level node_modules: in pnpm >= 11 it only holds `@pnpm/exe.<os>`, the
 *   second copy of the 65 MB binary that the install linked over `pnpm`; pnpm <= 10 bundles its
 *   dependencies in dist/ and has none;
 * - the top-level *.md files (a 540 KB CHANGELOG);
 * - other names of the entry binary (`pn`, `pnpx`, `pnx` are hard links of `pnpm`): copied, each
 *   would be another 65 MB, since the copy does not keep hard links.
 * dist/ stays whole: the native binary finds node-gyp there (and puts dist/node-gyp-bin on the
 * scripts' PATH); pnpm <= 10 is dist/pnpm.cjs.
 * @param {string} dir package directory
 * @param {string} real the entry, always included
 * @returns {string[]}
 */
export function packageFiles(dir, real) {
  const entry = lstatSync(real)
  /** @type {string[]} */
  const out = []
  const walk = (/** @type {string} */ d, /** @type {boolean} */ top) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (top && (e.name === 'node_modules' || (e.isFile() && e.name.endsWith('.md')))) continue
      if (e.isDirectory()) walk(p, false)
      else if (e.isSymbolicLink()) out.push(p)
      else if (e.isFile()) {
        const s = lstatSync(p)
        if (p !== real && s.ino === entry.ino && s.dev === entry.dev) continue
        out.push(p)
      }
    }
  }
  walk(dir, true)
  if (!out.includes(real)) out.push(real)
  return out.sort()
}

/**
 * The one line kvm-host adds when a command that names pnpm ended with the shell's 127 and this
 * host has no pnpm to give the guest; otherwise undefined.
 * @param {string[]} command
 * @param {number} code the command's exit code
 * @param {HostPnpm | undefined} pnpm
 * @returns {string | undefined}
 */
export function missingPnpmHint(command, code, pnpm) {
  if (pnpm || code !== 127 || !command.some((w) => /\bpnpm\b/.test(w))) return undefined
  return 'pnpm was not found on this host (not on PATH, no npm_execpath), so the guest has none: the 127 is the shell\'s "not found"'
}
