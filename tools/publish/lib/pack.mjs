// `pnpm pack` of one package and what the tarball holds. pnpm rewrites `workspace:*` ranges to
// the versions in the workspace while packing, so the tarball is what npm would publish.
import { join } from 'node:path'
import { run, tail } from './run.mjs'

/**
 * Packs the package in `dir` into `dest`.
 * @param {string} dir package directory
 * @param {string} dest directory for the tarball
 * @returns {{ ok: true, tarball: string } | { ok: false, error: string[] }}
 */
export function pack(dir, dest) {
  const r = run('pnpm', ['pack', '--pack-destination', dest, '--json'], { cwd: dir })
  if (r.status !== 0) return { ok: false, error: ['pnpm pack failed:', ...tail(r.output)] }
  try {
    // pnpm may print lifecycle output before the JSON object.
    const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')))
    return { ok: true, tarball: json.filename ?? join(dest, json.name) }
  } catch {
    return { ok: false, error: ['pnpm pack printed no JSON:', ...tail(r.output)] }
  }
}

/**
 * The paths inside a tarball, relative to its `package/` folder, sorted.
 * @param {string} tarball
 * @returns {string[]}
 */
export function tarballFiles(tarball) {
  const r = run('tar', ['-tzf', tarball])
  if (r.status !== 0) throw new Error(`tar -tzf ${tarball}: ${r.stderr}`)
  return r.stdout
    .split('\n')
    .filter((l) => l !== '' && !l.endsWith('/'))
    .map((l) => l.replace(/^package\//, ''))
    .sort()
}

/**
 * The package.json inside a tarball.
 * @param {string} tarball
 * @returns {Record<string, any>}
 */
export function tarballManifest(tarball) {
  const r = run('tar', ['-xzOf', tarball, 'package/package.json'])
  if (r.status !== 0) throw new Error(`tar -xzOf ${tarball}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}
