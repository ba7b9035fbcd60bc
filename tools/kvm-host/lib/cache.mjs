// The cache of prepared inputs (kernel, base image), shared by all runs on this machine.
// An entry is a directory named by a hash of its inputs; it is built under a temporary name and
// renamed into place, so a reader never sees half an entry and concurrent runs never clash.
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * The cache directory: $TSVMM_KVM_HOST_CACHE, else ~/.cache/tsvmm/kvm-host.
 * @param {NodeJS.ProcessEnv} [env]
 */
export function cacheRoot(env = process.env) {
  return env.TSVMM_KVM_HOST_CACHE || path.join(os.homedir(), '.cache', 'tsvmm', 'kvm-host')
}

/**
 * JSON with object keys sorted, so that equal inputs always give the same text.
 * @param {unknown} v
 * @returns {string}
 */
export function stableStringify(v) {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(/** @type {any} */ (v)[k])}`)
      .join(',')}}`
  return JSON.stringify(v) ?? 'null'
}

/**
 * A short hash of a description of the inputs.
 * @param {unknown} inputs
 */
export function cacheKey(inputs) {
  return createHash('sha256').update(stableStringify(inputs)).digest('hex').slice(0, 20)
}

/**
 * Returns the entry `dir/key`, building it with `build(tmpDir)` when it is absent.
 * @param {string} dir
 * @param {string} key
 * @param {(tmp: string) => Promise<void>} build fills `tmp`, which becomes the entry
 * @returns {Promise<string>}
 */
export async function ensureEntry(dir, key, build) {
  const final = path.join(dir, key)
  if (existsSync(path.join(final, '.complete'))) return final
  mkdirSync(dir, { recursive: true })
  const tmp = `${final}.tmp-${process.pid}-${Date.now()}`
  try {
    await build(tmp)
    writeFileSync(path.join(tmp, '.complete'), `${new Date().toISOString()}\n`)
    rmSync(final, { recursive: true, force: true }) // an incomplete leftover
    renameSync(tmp, final)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  return final
}

/**
 * Marks `entry` as just used and removes all but the `keep` most recently used entries of its
 * directory, plus temporary builds older than a day (left by a run that died). A run that still
 * has a removed file open keeps reading it: unlinking does not disturb open files.
 * @param {string} entry
 * @param {number} keep
 */
export function pruneEntries(entry, keep) {
  const now = new Date()
  utimesSync(entry, now, now)
  const dir = path.dirname(entry)
  const all = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => ({ p: path.join(dir, e.name), tmp: e.name.includes('.tmp-') }))
    .map((e) => ({ ...e, mtime: statSync(e.p).mtimeMs }))
  const done = all.filter((e) => !e.tmp).sort((a, b) => b.mtime - a.mtime)
  for (const e of done.slice(keep)) rmSync(e.p, { recursive: true, force: true })
  for (const e of all.filter((x) => x.tmp && now.getTime() - x.mtime > 86_400_000))
    rmSync(e.p, { recursive: true, force: true })
}

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM'
  }
}

/**
 * Runs `fn` holding a lock directory (mkdir is atomic); a lock whose owner died is taken over.
 * `onWait` is told the owner's pid once a wait has lasted a second.
 * @template T
 * @param {string} lockDir
 * @param {() => Promise<T>} fn
 * @param {{ waitMs?: number, onWait?: (pid: number) => void }} [opts]
 * @returns {Promise<T>}
 */
export async function withLock(lockDir, fn, opts = {}) {
  const started = Date.now()
  const deadline = started + (opts.waitMs ?? 30 * 60_000)
  let told = false
  mkdirSync(path.dirname(lockDir), { recursive: true })
  for (;;) {
    try {
      mkdirSync(lockDir)
      writeFileSync(path.join(lockDir, 'pid'), String(process.pid))
      break
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err
      let owner = 0
      try {
        owner = Number(readFileSync(path.join(lockDir, 'pid'), 'utf8'))
      } catch {}
      if (owner > 0 && !alive(owner)) {
        rmSync(lockDir, { recursive: true, force: true })
        continue
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${lockDir}`)
      // Holders that only check the cache let go within a second: say nothing about those.
      if (!told && owner > 0 && Date.now() - started >= 1000) {
        opts.onWait?.(owner)
        told = true
      }
      await sleep(250)
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(lockDir, { recursive: true, force: true })
  }
}
