// A PATH with only the tools a consumer install needs: no compiler, make or python, so a
// package that tries to compile at install fails instead of quietly succeeding.
import { accessSync, constants, mkdirSync, realpathSync, symlinkSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** What `npm install` and its lifecycle scripts use; nothing that can build native code. */
export const CONSUMER_TOOLS = [
  'node',
  'npm',
  'npx',
  'sh',
  'env',
  'cat',
  'chmod',
  'cp',
  'ln',
  'ls',
  'mkdir',
  'mv',
  'rm',
  'uname',
  'dirname',
  'basename',
]

/** Tools that must not be reachable: a consumer install has to work without them. */
export const BUILD_TOOLS = ['gcc', 'g++', 'cc', 'c++', 'clang', 'make', 'python', 'python3', 'ld']

/**
 * Where `name` is on `path`, or undefined.
 * @param {string} name
 * @param {string} [path]
 */
export function which(name, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {}
  }
  return undefined
}

/**
 * Makes `dir` a folder of symlinks to the given tools (resolved on the current PATH) and returns
 * it as a PATH. A tool that is missing here is left out and reported.
 * @param {string} dir
 * @param {string[]} [tools]
 * @returns {{ path: string, missing: string[] }}
 */
export function barePath(dir, tools = CONSUMER_TOOLS) {
  mkdirSync(dir, { recursive: true })
  /** @type {string[]} */
  const missing = []
  for (const t of tools) {
    const found = which(t)
    if (found === undefined) missing.push(t)
    // npm's bin is a symlink into its package: link the real file so its relative requires work.
    else symlinkSync(realpathSync(found), join(dir, t))
  }
  return { path: dir, missing }
}
