// Loads the compiled addon. src/ and dist/ both sit one level below the package root.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/** The raw addon, as addon.cc exports it. The public API wraps it; nothing else should use it. */
export interface Native {
  /** Constants, sizes and ioctl numbers as the C compiler computed them from <linux/kvm.h>. */
  readonly uapi: Readonly<Record<string, number>>
}

const require = createRequire(import.meta.url)
const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown

let native: Native | undefined

/** The addon, loaded on first use so that importing the package never fails by itself. */
export function loadNative(): Native {
  native ??= nodeGypBuild(fileURLToPath(new URL('..', import.meta.url))) as Native
  return native
}
