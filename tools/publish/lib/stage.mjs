// A staged copy of a package directory, for packing it with edits it does not carry yet.
import { copyFileSync, cpSync, existsSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { installScript, withPrebuildEdits } from './kvm-sys-edits.mjs'
import { readManifest, repoRoot } from './workspace.mjs'

/** Folders a package's tarball never takes from; skipped when copying. */
const SKIP = new Set([
  'node_modules',
  'build',
  'test',
  'test-results',
  '.turbo',
  'bench',
  'examples',
])

/**
 * Copies kvm-sys (with its prebuilds/, without build/) to `dest` and applies the proposed
 * package.json edits; the copy packs as the package will once the edits are in. The root
 * LICENSE is copied too: pnpm adds it only to packages inside the workspace.
 * @param {string} packageDir
 * @param {string} dest parent directory of the copy
 * @returns {string} the staged package directory
 */
export function stageKvmSys(packageDir, dest) {
  const staged = join(dest, basename(packageDir))
  cpSync(packageDir, staged, {
    recursive: true,
    filter: (src) =>
      src === packageDir || !SKIP.has(src.slice(packageDir.length + 1).split('/')[0] ?? ''),
  })
  const manifest = withPrebuildEdits(readManifest(packageDir))
  // The prebuild is already staged; prepack's script path only exists in the workspace.
  delete manifest.scripts.prepack
  writeFileSync(join(staged, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  copyFileSync(installScript, join(staged, 'install.cjs'))
  if (!existsSync(join(staged, 'LICENSE')))
    copyFileSync(join(repoRoot, 'LICENSE'), join(staged, 'LICENSE'))
  return staged
}
