// How node-gyp-build 4.8.4 (node-gyp-build.js: resolve, parseTuple, parseTags, matchTags) picks a
// prebuild: a folder prebuilds/<platform>-<arch>[+<arch>...], then a file whose dot-separated
// tags (runtime node|electron|node-webkit, napi, abi<N>, uv<N>, armv<N>, glibc|musl) match the
// running process; other dot-separated words (the name) are ignored, and the file ends in .node.

/** The prebuild folder node-gyp-build searches for a platform and arch, e.g. 'linux-x64'. */
export function prebuildDir(platform = process.platform, arch = process.arch) {
  return `prebuilds/${platform}-${arch}`
}

/**
 * The file name of a Node-API prebuild: `<name>.napi.<libc>.node`. `napi` makes it match every
 * Node ABI; the libc tag keeps a glibc build from being loaded on musl (Alpine), where it
 * would fail to link. node-gyp-build accepts a file with no runtime tag for any runtime.
 * @param {string} name the addon's name (no dots: a dot would start a tag)
 * @param {'glibc' | 'musl'} [libc]
 */
export function prebuildFileName(name, libc = 'glibc') {
  if (name.includes('.') || name === '')
    throw new Error(`prebuild name must be non-empty and dot-free: ${name}`)
  return `${name}.napi.${libc}.node`
}

/**
 * Whether node-gyp-build would consider `file` (a path inside a package) a prebuild for the
 * given target; a re-statement of its rules to check tarball contents without loading them.
 * @param {string} file e.g. 'prebuilds/linux-x64/kvm_sys.napi.glibc.node'
 * @param {{ platform?: string, arch?: string, libc?: string }} [target]
 */
export function isPrebuildFor(file, target = {}) {
  const { platform = 'linux', arch = 'x64', libc = 'glibc' } = target
  const m = /^prebuilds\/([^/]+)\/([^/]+)$/.exec(file)
  if (!m) return false
  const tuple = /** @type {string} */ (m[1]).split('-')
  if (tuple.length !== 2 || tuple[0] !== platform) return false
  if (!(/** @type {string} */ (tuple[1]).split('+').includes(arch))) return false
  const words = /** @type {string} */ (m[2]).split('.')
  if (words.pop() !== 'node') return false
  let napi = false
  let abi
  for (const w of words) {
    if (w === 'napi') napi = true
    else if (w.startsWith('abi')) abi = w.slice(3)
    else if ((w === 'glibc' || w === 'musl') && w !== libc) return false
    else if (w === 'electron' || w === 'node-webkit') return false
  }
  return napi || abi === undefined || abi === process.versions.modules
}
