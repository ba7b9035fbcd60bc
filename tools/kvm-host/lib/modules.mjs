// Kernel modules the guest loads, in dependency order. Debian ships them compressed and the
// unpacked package has no modules.dep, so the order is read from each module's own modinfo.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

/** Modules the guest needs: the payload disk, then KVM for the emulated AMD CPU. */
export const GUEST_MODULES = Object.freeze(['virtio_blk', 'kvm_amd'])

/**
 * Normalizes a module file or module name to the kernel's module name (dashes become underscores).
 * @param {string} file
 */
export function moduleName(file) {
  return path
    .basename(file)
    .replace(/\.ko(\.(xz|zst|gz))?$/, '')
    .replaceAll('-', '_')
}

/**
 * Reads the `depends=` field of a module's .modinfo section.
 * @param {Buffer} ko the uncompressed module
 * @returns {string[]}
 */
export function moduleDepends(ko) {
  const at = ko.indexOf('\0depends=')
  if (at < 0) return []
  const end = ko.indexOf(0, at + 1)
  const list = ko.subarray(at + 9, end).toString()
  return list ? list.split(',').map(moduleName) : []
}

/**
 * Decompresses one module file.
 * @param {string} file .ko, .ko.xz or .ko.zst
 * @returns {Buffer}
 */
export function readModule(file) {
  if (file.endsWith('.ko')) return readFileSync(file)
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : 'gzip'
  const r = spawnSync(tool, ['-dc', file], { maxBuffer: 256 << 20 })
  if (r.status !== 0) throw new Error(`${tool} -dc ${file}: ${r.stderr}`)
  return r.stdout
}

/**
 * Lists the modules to load so that each comes after its dependencies.
 * @param {string} modulesDir lib/modules/<release>
 * @param {readonly string[]} wanted module names
 * @param {(file: string) => Buffer} [read]
 * @returns {{ name: string, ko: Buffer }[]}
 */
export function resolveModules(modulesDir, wanted, read = readModule) {
  /** @type {Map<string, string>} */
  const files = new Map()
  const walk = (/** @type {string} */ d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (/\.ko(\.(xz|zst|gz))?$/.test(e.name)) files.set(moduleName(e.name), p)
    }
  }
  walk(path.join(modulesDir, 'kernel'))
  /** @type {{ name: string, ko: Buffer }[]} */
  const order = []
  const seen = new Set()
  const visit = (/** @type {string} */ name, /** @type {string[]} */ chain) => {
    if (seen.has(name)) return
    if (chain.includes(name))
      throw new Error(`module dependency cycle: ${[...chain, name].join(' -> ')}`)
    const file = files.get(name)
    if (!file) throw new Error(`module ${name} is not in ${modulesDir} (built in? then drop it)`)
    const ko = read(file)
    for (const dep of moduleDepends(ko)) visit(dep, [...chain, name])
    seen.add(name)
    order.push({ name, ko })
  }
  for (const w of wanted) visit(w, [])
  return order
}
