// The package.json edits kvm-sys needs to ship its prebuild, stated once: the consumer test packs
// a staged copy with exactly these until the package carries them itself.
import { fileURLToPath } from 'node:url'

/** The proposed install script file, copied into the staged package as install.cjs. */
export const installScript = fileURLToPath(
  new URL('../proposed/kvm-sys/install.cjs', import.meta.url),
)

/**
 * Whether a kvm-sys manifest already ships prebuilds and builds locally when none fits.
 * @param {Record<string, any>} manifest
 */
export function hasPrebuildEdits(manifest) {
  const files = manifest.files ?? []
  return files.includes('prebuilds') && typeof manifest.scripts?.install === 'string'
}

/**
 * kvm-sys's package.json with the edits applied: `prebuilds` and `install.cjs` in `files`, the
 * install fallback, and `prepack` staging the prebuild from the fresh build.
 * @param {Record<string, any>} manifest
 * @returns {Record<string, any>}
 */
export function withPrebuildEdits(manifest) {
  const files = [...(manifest.files ?? [])]
  for (const f of ['prebuilds', 'install.cjs']) if (!files.includes(f)) files.push(f)
  return {
    ...manifest,
    files,
    scripts: {
      ...manifest.scripts,
      install: 'node install.cjs',
      prepack: 'node ../../tools/publish/prebuild.mjs --no-build',
    },
  }
}
