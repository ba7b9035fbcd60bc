#!/usr/bin/env node
// Stages kvm-sys's prebuilt addon where node-gyp-build 4.8.4 looks for it in an installed
// package: packages/kvm-sys/prebuilds/linux-x64/kvm_sys.napi.glibc.node, copied from node-gyp's
// build/Release/kvm_sys.node. Then proves node-gyp-build picks that file: it copies the
// prebuilds folder (and nothing else) into a scratch package and loads it from there.
//   node tools/publish/prebuild.mjs [--no-build] [--package <dir>]
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { prebuildDir, prebuildFileName } from './lib/prebuild-name.mjs'
import { run, tail } from './lib/run.mjs'
import { repoRoot } from './lib/workspace.mjs'

/** The addon's node-gyp target name, as binding.gyp names it. */
export const ADDON_NAME = 'kvm_sys'

/**
 * Whether a .node file is a Node-API addon: those export napi_register_module_v1 (one build for
 * every Node); ABI-bound ones export node_register_module_v<ABI> instead.
 * @param {string} file
 */
export function isNodeApiAddon(file) {
  return readFileSync(file).includes('napi_register_module_v1')
}

/**
 * Copies build/Release/<name>.node into prebuilds/<platform>-<arch>/<name>.napi.glibc.node.
 * @param {string} packageDir
 * @returns {string} the prebuild's path
 */
export function stagePrebuild(packageDir) {
  const built = join(packageDir, 'build', 'Release', `${ADDON_NAME}.node`)
  if (!existsSync(built)) throw new Error(`${built} is missing: build kvm-sys first`)
  if (!isNodeApiAddon(built)) throw new Error(`${built} is not a Node-API addon`)
  const dir = join(packageDir, prebuildDir())
  rmSync(join(packageDir, 'prebuilds'), { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const target = join(dir, prebuildFileName(ADDON_NAME))
  copyFileSync(built, target)
  return target
}

/**
 * Loads a prebuilds folder through node-gyp-build from a scratch package that has no build/,
 * as an installed package would. Returns the file node-gyp-build chose and the addon's keys.
 * @param {string} packageDir the package whose prebuilds/ and node-gyp-build are used
 * @returns {{ chosen: string, exports: string[] }}
 */
export function loadFromScratch(packageDir) {
  const scratch = mkdtempSync(join(tmpdir(), 'tsvmm-prebuild-'))
  try {
    const name = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).name
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name, type: 'module' }))
    const rel = prebuildDir()
    mkdirSync(join(scratch, rel), { recursive: true })
    const file = prebuildFileName(ADDON_NAME)
    copyFileSync(join(packageDir, rel, file), join(scratch, rel, file))
    const nodeGypBuild = createRequire(join(packageDir, 'package.json'))('node-gyp-build')
    const chosen = nodeGypBuild.resolve(scratch)
    const addon = nodeGypBuild(scratch)
    return { chosen: relative(scratch, chosen), exports: Object.keys(addon).sort() }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

const isMain = process.argv[1] && import.meta.url === `file://${process.argv[1]}`
if (isMain) {
  const at = process.argv.indexOf('--package')
  const packageDir = at > 0 ? (process.argv[at + 1] ?? '') : join(repoRoot, 'packages', 'kvm-sys')
  if (!process.argv.includes('--no-build')) {
    const b = run('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=@tsvmm/kvm-sys'], {
      cwd: repoRoot,
    })
    if (b.status !== 0) {
      console.error(['prebuild: building kvm-sys failed', ...tail(b.output)].join('\n'))
      process.exit(1)
    }
  }
  try {
    const target = stagePrebuild(packageDir)
    console.log(`prebuild: ${relative(repoRoot, target)}`)
    const { chosen, exports } = loadFromScratch(packageDir)
    const want = join(prebuildDir(), prebuildFileName(ADDON_NAME))
    if (chosen !== want) throw new Error(`node-gyp-build chose ${chosen}, not ${want}`)
    if (!exports.includes('openKvm')) throw new Error(`the addon exports no openKvm: ${exports}`)
    console.log(
      `prebuild: node-gyp-build loads ${chosen} from a scratch package (${exports.length} exports)`,
    )
  } catch (e) {
    console.error(`prebuild: ${e instanceof Error ? e.message : e}`)
    process.exit(1)
  }
}
