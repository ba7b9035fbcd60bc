// The Debian packages the emulated host needs on the caller's machine, installed only when missing.
import { EXIT, KvmHostError } from './errors.mjs'
import { exec, which } from './exec.mjs'

/** Each tool kvm-host runs, and the Debian package that ships it. */
export const HOST_TOOLS = Object.freeze({
  'qemu-system-x86_64': 'qemu-system-x86',
  busybox: 'busybox-static',
  cpio: 'cpio',
  xz: 'xz-utils',
  'mkfs.ext4': 'e2fsprogs',
  debugfs: 'e2fsprogs',
})

/** The apt-get install line of the brief: never upgrade what is installed, no recommends. */
export const APT_INSTALL = ['install', '-y', '-q', '--no-install-recommends', '--no-upgrade']

/**
 * Makes sure every host tool is there: when one is missing, runs `apt-get update` once and installs
 * the missing packages (apt's own output goes to stderr).
 * @param {(msg: string) => void} note prints a `kvm-host:` line on stderr
 * @returns {Promise<Record<string, string>>} absolute path of each tool
 */
export function ensureHostTools(note) {
  return ensureTools(HOST_TOOLS, note)
}

/**
 * Makes sure each tool of `tools` (program name -> the Debian package that ships it) is on PATH,
 * installing the missing packages with apt-get as ensureHostTools does. For any tool a build or
 * test needs on the caller's machine (e.g. busybox-static for an initramfs).
 * @param {Readonly<Record<string, string>>} tools
 * @param {(msg: string) => void} note
 * @returns {Promise<Record<string, string>>} absolute path of each tool
 */
export async function ensureTools(tools, note) {
  const missing = () => Object.keys(tools).filter((t) => !which(t))
  let absent = missing()
  if (absent.length > 0) {
    const pkgs = [...new Set(absent.map((t) => /** @type {string} */ (tools[t])))]
    const apt = which('apt-get')
    if (!apt || process.getuid?.() !== 0)
      throw new KvmHostError(
        EXIT.HOST_TOOLS,
        `missing ${absent.join(', ')} and cannot install them (${apt ? 'not root' : 'no apt-get'})`,
        `install the Debian packages ${pkgs.join(' ')}`,
      )
    note(`installing ${pkgs.join(' ')} with apt-get, once (missing: ${absent.join(', ')})`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const up = await exec(apt, ['update', '-q'], { env })
    const inst = up.status === 0 ? await exec(apt, [...APT_INSTALL, ...pkgs], { env }) : up
    absent = missing()
    if (absent.length > 0)
      throw new KvmHostError(
        EXIT.HOST_TOOLS,
        `apt-get could not install ${pkgs.join(' ')}: ${lastLine(inst.stderr || inst.stdout)}`,
        'check the Debian mirror in /etc/apt/sources.list*',
      )
  }
  return Object.fromEntries(Object.keys(tools).map((t) => [t, /** @type {string} */ (which(t))]))
}

/** @param {string} s */
export function lastLine(s) {
  return (
    s
      .trim()
      .split('\n')
      .filter((l) => l.trim())
      .pop() ?? ''
  )
}
