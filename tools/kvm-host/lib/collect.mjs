// --collect: copies directories back out of the payload image after the guest has unmounted it,
// with debugfs (no mount, no root needed), replacing the caller's copy.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import { EXIT, KvmHostError } from './errors.mjs'
import { exec } from './exec.mjs'

/** Characters allowed in a collected path (debugfs has its own quoting rules). */
const SAFE = /^[A-Za-z0-9._@+/-]+$/

/**
 * Copies `<rel>` from the image to `<repoRoot>/<rel>` for each directory.
 * @param {{ debugfs: string, image: string, repoRoot: string, runDir: string, dirs: string[] }} p
 * @param {(msg: string) => void} note
 */
export async function collectDirs(p, note) {
  for (const rel of p.dirs) {
    const posix = rel.split(path.sep).join('/')
    if (!SAFE.test(posix))
      throw new KvmHostError(EXIT.COLLECT, `--collect ${rel}: unsupported characters`)
    const inImage = `/${posix}`
    const st = await exec(p.debugfs, ['-R', `stat "${inImage}"`, p.image])
    if (/File not found|not found by ext2_lookup/.test(st.stderr) || st.stdout.trim() === '') {
      note(`--collect ${rel}: not in the guest; the local copy is left as it was`)
      continue
    }
    if (!/Type: directory/.test(st.stdout))
      throw new KvmHostError(EXIT.COLLECT, `--collect ${rel}: not a directory in the guest`)
    const out = path.join(p.runDir, 'collect', String(p.dirs.indexOf(rel)))
    mkdirSync(out, { recursive: true })
    const r = await exec(p.debugfs, ['-R', `rdump "${inImage}" "${out}"`, p.image])
    const got = path.join(out, path.posix.basename(posix))
    if (r.status !== 0 || !existsSync(got))
      throw new KvmHostError(
        EXIT.COLLECT,
        `--collect ${rel}: debugfs rdump failed: ${r.stderr.trim()}`,
      )
    const dest = path.join(p.repoRoot, rel)
    rmSync(dest, { recursive: true, force: true })
    mkdirSync(path.dirname(dest), { recursive: true })
    renameSync(got, dest)
  }
}
