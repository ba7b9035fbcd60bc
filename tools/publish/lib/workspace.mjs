// The publishable packages of the workspace: every packages/* that is not private, in dependency
// order (a package comes after the workspace packages it depends on).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Absolute path of the repository root. */
export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '')

/**
 * @typedef {object} WorkspacePackage
 * @property {string} name   package name, e.g. '@tsvmm/kvm-sys'
 * @property {string} dir    absolute package directory
 * @property {Record<string, any>} manifest  the parsed package.json
 */

/**
 * Reads one package.json.
 * @param {string} dir
 * @returns {Record<string, any>}
 */
export function readManifest(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
}

/**
 * The workspace dependencies (any dependency field) of a manifest, by name.
 * @param {Record<string, any>} manifest
 * @param {Set<string>} names workspace package names
 * @returns {string[]}
 */
export function workspaceDeps(manifest, names) {
  const fields = ['dependencies', 'peerDependencies', 'optionalDependencies']
  return fields.flatMap((f) => Object.keys(manifest[f] ?? {}).filter((d) => names.has(d)))
}

/**
 * Every non-private package under packages/, dependencies first.
 * @param {string} [root]
 * @returns {WorkspacePackage[]}
 */
export function publishablePackages(root = repoRoot) {
  const top = join(root, 'packages')
  const found = readdirSync(top, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(top, d.name, 'package.json')))
    .map((d) => {
      const dir = join(top, d.name)
      const manifest = readManifest(dir)
      return { name: manifest.name, dir, manifest }
    })
    .filter((p) => p.manifest.private !== true)
  const names = new Set(found.map((p) => p.name))
  /** @type {WorkspacePackage[]} */
  const ordered = []
  const visit = (/** @type {WorkspacePackage} */ p, /** @type {string[]} */ path) => {
    if (ordered.includes(p)) return
    if (path.includes(p.name))
      throw new Error(`dependency cycle: ${[...path, p.name].join(' -> ')}`)
    for (const d of workspaceDeps(p.manifest, names))
      visit(/** @type {WorkspacePackage} */ (found.find((q) => q.name === d)), [...path, p.name])
    ordered.push(p)
  }
  for (const p of found.sort((a, b) => a.name.localeCompare(b.name))) visit(p, [])
  return ordered
}
