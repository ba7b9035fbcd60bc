// What `changeset version` needs of the repository, copied to a scratch folder, and the bumps
// it should make there. Changesets reads only the workspace list, the package.json files, the
// CHANGELOGs and .changeset/config.json, so the copy needs no node_modules and no git.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'

/**
 * The workspace package folders (relative), from the patterns pnpm-workspace.yaml uses here
 * (`<dir>/*` only).
 * @param {string} root
 * @returns {string[]}
 */
export function workspaceFolders(root) {
  return ['packages', 'apps', 'tools'].flatMap((top) =>
    existsSync(join(root, top))
      ? readdirSync(join(root, top), { withFileTypes: true })
          .filter((d) => d.isDirectory() && existsSync(join(root, top, d.name, 'package.json')))
          .map((d) => `${top}/${d.name}`)
      : [],
  )
}

/**
 * Copies the versioning inputs from `root` to `dest`: root package.json, pnpm-workspace.yaml,
 * .changeset/config.json (not pending changesets: each scenario writes its own) and every
 * workspace package's package.json and CHANGELOG.md.
 * @param {string} root
 * @param {string} dest
 */
export function copyVersioningInputs(root, dest) {
  const files = ['package.json', 'pnpm-workspace.yaml', '.changeset/config.json']
  for (const f of workspaceFolders(root))
    files.push(
      `${f}/package.json`,
      ...(existsSync(join(root, f, 'CHANGELOG.md')) ? [`${f}/CHANGELOG.md`] : []),
    )
  for (const f of files) {
    mkdirSync(dirname(join(dest, f)), { recursive: true })
    copyFileSync(join(root, f), join(dest, f))
  }
}

/**
 * A semver bump of a plain x.y.z version.
 * @param {string} version
 * @param {'major' | 'minor' | 'patch'} type
 */
export function bump(version, type) {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version)
  if (!m) throw new Error(`not a plain x.y.z version: ${version}`)
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (type === 'major') return `${major + 1}.0.0`
  if (type === 'minor') return `${major}.${minor + 1}.0`
  return `${major}.${minor}.${patch + 1}`
}

/**
 * The versions `changeset version` should produce: each released package bumped as asked, and
 * every package that depends on a bumped one (transitively, any dependency field but dev)
 * bumped patch (updateInternalDependencies: "patch"; workspace:* ranges always take the new
 * version). Private packages are never versioned (privatePackages.version: false).
 * @param {Map<string, { version: string, private: boolean, deps: string[] }>} packages
 * @param {Record<string, 'major' | 'minor' | 'patch'>} releases
 * @returns {Map<string, string>} name -> expected version (every package)
 */
export function expectedVersions(packages, releases) {
  /** @type {Map<string, 'major' | 'minor' | 'patch'>} */
  const types = new Map(Object.entries(releases))
  let changed = true
  while (changed) {
    changed = false
    for (const [name, p] of packages)
      if (!types.has(name) && p.deps.some((d) => types.has(d))) {
        types.set(name, 'patch')
        changed = true
      }
  }
  const out = new Map()
  for (const [name, p] of packages) {
    const t = types.get(name)
    out.set(name, t && !p.private ? bump(p.version, t) : p.version)
  }
  return out
}
