// Loads the addon the way node-gyp-build does (build/Release, build/Debug, then
// prebuilds/<platform>-<arch>) but, when nothing loads, throws an error that lists every place
// it looked and what it found there.
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const nodeGypBuild = require('node-gyp-build') as {
  (dir: string): unknown
  resolve(dir: string): string
}

/**
 * The native addon could not be loaded: no prebuild fits this machine and there is no local
 * build, or the file found failed to load. `tried` lists each place looked at with what was
 * there; `hint` says how to get a working addon.
 */
export class AddonLoadError extends Error {
  /** Always 'AddonLoadError'. */
  override readonly name = 'AddonLoadError'
  /** A stable code for callers that switch on codes. */
  readonly code = 'ERR_KVM_SYS_ADDON_LOAD'
  /** Every place looked at, each followed by what was found there. */
  readonly tried: readonly string[]
  /** How to get a working addon. */
  readonly hint: string

  /** `tried` as candidates() lists them; `cause` is node-gyp-build's or dlopen's error. */
  constructor(tried: readonly string[], cause: unknown) {
    const hint =
      'no prebuilt addon fits this machine (kvm-sys ships prebuilds/linux-x64 for glibc) and no ' +
      'local build loads: install python3, make and g++, then `npm rebuild @tsvmm/kvm-sys`'
    super(
      `@tsvmm/kvm-sys: cannot load the native addon for ${process.platform}-${process.arch} ` +
        `(Node ${process.versions.node}, N-API ${process.versions.napi}). Tried:\n` +
        `${tried.map((t) => `  - ${t}`).join('\n')}\nHint: ${hint}`,
      { cause },
    )
    this.tried = tried
    this.hint = hint
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort()
  } catch {
    return []
  }
}

/** What each candidate location holds, in node-gyp-build's order. */
export function candidates(root: string): string[] {
  const out: string[] = []
  for (const d of ['build/Release', 'build/Debug']) {
    const dir = join(root, d)
    const nodes = list(dir).filter((f) => f.endsWith('.node'))
    out.push(
      `${dir}/*.node: ${nodes.length > 0 ? nodes.join(', ') : existsSync(dir) ? 'no .node file' : 'no such directory'}`,
    )
  }
  const prebuilds = join(root, 'prebuilds')
  const tuples = list(prebuilds)
  const want = `${process.platform}-${process.arch}`
  if (tuples.length === 0) out.push(`${prebuilds}/${want}/*.node: no prebuilds directory`)
  for (const t of tuples) {
    const files = list(join(prebuilds, t)).filter((f) => f.endsWith('.node'))
    const fits =
      t.split('-')[0] === process.platform &&
      (t.split('-')[1] ?? '').split('+').includes(process.arch)
    out.push(
      `${prebuilds}/${t}/: ${files.join(', ') || 'empty'}` +
        (fits ? ' (none matches this runtime, Node-API version and libc)' : ` (not ${want})`),
    )
  }
  return out
}

/** Loads the addon of the package at `root`, or throws AddonLoadError listing what it tried. */
export function loadAddon(root: string): unknown {
  let file: string
  try {
    file = nodeGypBuild.resolve(root)
  } catch (cause) {
    throw new AddonLoadError(candidates(root), cause)
  }
  try {
    return require(file)
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause)
    throw new AddonLoadError(
      [`${file}: found, but it failed to load: ${why}`, ...candidates(root)],
      cause,
    )
  }
}
