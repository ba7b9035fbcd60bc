// What a published tarball may hold, what it must hold, and what its package.json must say.
// Pure functions over file lists and manifests, so they can be tested without packing.
import { isPrebuildFor } from './prebuild-name.mjs'

/** @typedef {{ file: string, reason: string }} Unwanted */

const DOC_FILES = new Set([
  'package.json',
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
  'LICENSE.md',
  'NOTICE',
])
const DIST_CODE = /\.(m|c)?js$|\.d\.(m|c)?ts$|\.(m|c)?js\.map$|\.d\.(m|c)?ts\.map$/
const NATIVE_SOURCE = /\.(c|cc|cpp|h|hh|hpp)$/

/**
 * Files referenced by the install lifecycle scripts (`node install.cjs` ships `install.cjs`).
 * @param {Record<string, any>} manifest
 * @returns {Set<string>}
 */
function installScriptFiles(manifest) {
  const scripts = manifest.scripts ?? {}
  const text = ['preinstall', 'install', 'postinstall'].map((s) => scripts[s] ?? '').join(' ')
  return new Set(
    [...text.matchAll(/\bnode\s+(?:\.\/)?([\w./-]+\.(?:c|m)?js)\b/g)].map((m) => m[1] ?? ''),
  )
}

/**
 * Why a file should not ship, or undefined if it may.
 * @param {string} file path inside the package
 * @param {{ native: boolean, installFiles: Set<string> }} kind
 * @returns {string | undefined}
 */
export function unwantedReason(file, kind) {
  const top = file.split('/')[0] ?? ''
  if (/(^|\/)node_modules\//.test(file)) return 'node_modules'
  if (/(^|\/)\.turbo\//.test(file)) return 'turbo cache'
  if (/(^|\/)test-results\//.test(file)) return 'test results'
  if (/(^|\/)(test|tests|__tests__)\//.test(file) || /\.(test|spec|bench)\.[^/]+$/.test(file))
    return 'test code'
  if (/\.tsbuildinfo$/.test(file)) return 'TypeScript build info'
  if (DOC_FILES.has(file)) return undefined
  if (kind.installFiles.has(file)) return undefined
  if (top === 'dist') return DIST_CODE.test(file) ? undefined : 'not compiled output'
  if (kind.native) {
    if (file === 'binding.gyp') return undefined
    if (file.startsWith('src/native/'))
      return NATIVE_SOURCE.test(file) ? undefined : 'not a C/C++ source of the addon'
    if (top === 'prebuilds')
      return /^prebuilds\/[^/]+\/[^/]+\.node$/.test(file) ? undefined : 'not a prebuilt .node'
    if (top === 'build')
      return /^build\/Release\/[^/]+\.node$/.test(file) ? undefined : 'node-gyp intermediate'
  }
  if (top === 'src') return 'TypeScript source (dist has the compiled code)'
  if (top === 'bench') return 'benchmark'
  if (top === 'examples') return 'example (the README carries the runnable example)'
  if (/^(tsconfig.*|vitest.*|biome|turbo)\.json$|^vitest\..*\.ts$/.test(file)) return 'dev config'
  return 'not needed at run time'
}

/**
 * The files of a tarball that should not ship.
 * @param {string[]} files
 * @param {Record<string, any>} manifest the packed package.json
 * @returns {Unwanted[]}
 */
export function unwantedFiles(files, manifest) {
  const kind = { native: isNative(files), installFiles: installScriptFiles(manifest) }
  return files.flatMap((file) => {
    const reason = unwantedReason(file, kind)
    return reason === undefined ? [] : [{ file, reason }]
  })
}

/**
 * Whether a tarball holds a native addon.
 * @param {string[]} files
 */
export function isNative(files) {
  return files.includes('binding.gyp')
}

/**
 * Every file an `exports` map points at (both conditions and plain strings).
 * @param {unknown} exportsField
 * @returns {string[]}
 */
export function exportTargets(exportsField) {
  if (typeof exportsField === 'string') return [exportsField.replace(/^\.\//, '')]
  if (exportsField === null || typeof exportsField !== 'object') return []
  return Object.values(exportsField).flatMap((v) => exportTargets(v))
}

/**
 * What a tarball lacks: docs, license, changelog, the files `exports` names, and for a native
 * package a Node-API prebuild for linux-x64 plus the sources to build one locally.
 * @param {string[]} files
 * @param {Record<string, any>} manifest
 * @returns {string[]}
 */
export function missingFiles(files, manifest) {
  const have = new Set(files)
  /** @type {string[]} */
  const missing = []
  if (!have.has('README.md')) missing.push('README.md')
  if (!files.some((f) => /^LICEN[CS]E(\.md|\.txt)?$/.test(f))) missing.push('LICENSE')
  if (!have.has('CHANGELOG.md')) missing.push('CHANGELOG.md (changesets writes it; ship it)')
  for (const t of exportTargets(manifest.exports))
    if (!have.has(t) && !t.includes('*')) missing.push(`${t} (named by exports)`)
  if (isNative(files)) {
    const prebuilds = files.filter((f) => isPrebuildFor(f, { platform: 'linux', arch: 'x64' }))
    if (prebuilds.length === 0)
      missing.push('prebuilds/linux-x64/*.node (no prebuild for linux-x64)')
    else if (!prebuilds.some((f) => f.split('/').pop()?.split('.').includes('napi')))
      missing.push('a Node-API prebuild (tag "napi") so one build serves every Node version')
    if (!files.some((f) => f.startsWith('src/native/')))
      missing.push('src/native (for a local build)')
  }
  return missing
}

const DEP_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']

/**
 * What a packed package.json gets wrong. `platformOf(name)` gives the os/cpu of a dependency
 * in the workspace, so a package that depends on a linux-x64 package must say so itself.
 * @param {Record<string, any>} manifest the packed package.json
 * @param {(name: string) => { os?: string[], cpu?: string[] } | undefined} platformOf
 * @param {{ native: boolean }} kind
 * @returns {string[]}
 */
export function manifestProblems(manifest, platformOf, kind) {
  /** @type {string[]} */
  const problems = []
  for (const field of DEP_FIELDS)
    for (const [dep, range] of Object.entries(manifest[field] ?? {}))
      if (String(range).startsWith('workspace:'))
        problems.push(`${field}.${dep} is still "${range}" (pack did not rewrite it)`)
  if (manifest.type !== 'module') problems.push('"type" is not "module"')
  if (!manifest.license) problems.push('no "license"')
  if (typeof manifest.engines?.node !== 'string') problems.push('no "engines.node"')
  if (!Array.isArray(manifest.files)) problems.push('no "files" allowlist')
  if (manifest.exports === undefined) problems.push('no "exports"')
  const needs = requiredPlatform(manifest, platformOf)
  for (const key of /** @type {const} */ (['os', 'cpu'])) {
    const want = [
      ...new Set([...(kind.native ? [key === 'os' ? 'linux' : 'x64'] : []), ...needs[key]]),
    ]
    const have = manifest[key] ?? []
    const lacking = want.filter((v) => !have.includes(v))
    if (lacking.length > 0)
      problems.push(
        `"${key}" lacks ${lacking.join(', ')}` +
          (kind.native ? '' : ` (a dependency only installs there: ${needs.from.join(', ')})`),
      )
  }
  if (kind.native) {
    if (!manifest.dependencies?.['node-gyp-build']) problems.push('no dependency on node-gyp-build')
    const install = manifest.scripts?.install ?? ''
    if (!/node-gyp-build|node\s/.test(install))
      problems.push('no "install" script that builds locally when no prebuild fits')
  }
  return problems
}

/**
 * The os/cpu values the runtime dependencies restrict installation to.
 * @param {Record<string, any>} manifest
 * @param {(name: string) => { os?: string[], cpu?: string[] } | undefined} platformOf
 */
function requiredPlatform(manifest, platformOf) {
  /** @type {{ os: string[], cpu: string[], from: string[] }} */
  const need = { os: [], cpu: [], from: [] }
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    const p = platformOf(dep)
    if (!p || (!p.os?.length && !p.cpu?.length)) continue
    need.os.push(...(p.os ?? []))
    need.cpu.push(...(p.cpu ?? []))
    need.from.push(dep)
  }
  return need
}

/**
 * Source maps whose sources are not in the tarball (editors cannot follow them).
 * @param {Map<string, string>} maps map file path -> its JSON text
 * @param {string[]} files
 * @returns {string[]} the missing sources, relative to the package
 */
export function danglingMapSources(maps, files) {
  const have = new Set(files)
  const missing = new Set()
  for (const [mapFile, text] of maps) {
    const dir = mapFile.split('/').slice(0, -1)
    let sources = []
    try {
      const map = JSON.parse(text)
      sources = (map.sources ?? []).map((/** @type {string} */ s) => `${map.sourceRoot ?? ''}${s}`)
    } catch {
      missing.add(`${mapFile} (not JSON)`)
    }
    for (const s of sources) {
      const parts = [...dir]
      for (const seg of s.split('/')) {
        if (seg === '..') parts.pop()
        else if (seg !== '.' && seg !== '') parts.push(seg)
      }
      const path = parts.join('/')
      if (!have.has(path)) missing.add(path)
    }
  }
  return [...missing].sort()
}

/**
 * Relative links in a README that point at files the tarball does not hold (they break on the
 * registry's page and in node_modules).
 * @param {string} markdown
 * @param {string[]} files
 * @returns {string[]}
 */
export function brokenReadmeLinks(markdown, files) {
  const have = new Set(files)
  const links = [...markdown.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)].map((m) => m[1] ?? '')
  return [
    ...new Set(
      links.filter(
        (l) => !/^[a-z]+:/i.test(l) && !l.startsWith('/') && !have.has(l.replace(/^\.\//, '')),
      ),
    ),
  ]
}
