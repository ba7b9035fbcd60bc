import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { which } from '../lib/exec.mjs'
import {
  buildPayload,
  debugfsQuote,
  excludedFromPayload,
  imageSizeMiB,
  pruneCommands,
  scanRepo,
} from '../lib/payload.mjs'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'kvm-host-payload-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A small repository: sources, a pnpm-style node_modules, and everything that must stay out. */
function makeRepo(root: string) {
  const files: Record<string, string> = {
    'package.json': '{"name":"r"}',
    'src/a.ts': 'export const a = 1\n',
    'node_modules/.pnpm/x@1/node_modules/x/index.js': 'module.exports = 1\n',
    'node_modules/.cache/vitest/results.json': '{}',
    'packages/p/node_modules/.cache/c': 'c',
    'packages/p/.turbo/turbo-build.log': 'log',
    '.turbo/cookies/1.cookie': '',
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.git/objects/ab/cdef': 'blob',
    '.kvm-host/old/x': 'x',
    'test-results/kvm.json': '{}',
    'odd "name" dir/file with spaces': 'odd',
  }
  for (const [f, c] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true })
    writeFileSync(path.join(root, f), c)
  }
  symlinkSync('.pnpm/x@1/node_modules/x', path.join(root, 'node_modules', 'x'))
}

describe('excludedFromPayload', () => {
  it('drops .git, .kvm-host, every .turbo and node_modules/.cache', () => {
    for (const p of ['.git', '.kvm-host', '.turbo', 'packages/a/.turbo', 'node_modules/.cache'])
      expect(excludedFromPayload(p)).toBe(true)
    expect(excludedFromPayload('packages/a/node_modules/.cache')).toBe(true)
  })

  it('keeps everything else, node_modules and build output included', () => {
    for (const p of [
      'node_modules',
      'src/.git-like',
      'a/.git',
      'dist',
      'build',
      '.cache',
      'x/.cache',
    ])
      expect(excludedFromPayload(p)).toBe(false)
  })
})

describe('scanRepo', () => {
  it('sizes what is sent and lists what is dropped, children before their directory', () => {
    const root = path.join(tmp, 'scan')
    makeRepo(root)
    const s = scanRepo(root)
    const dropped = s.excluded.map((e) => e.rel)
    expect(dropped).toContain('.git/objects/ab/cdef')
    expect(dropped.indexOf('.git/objects/ab/cdef')).toBeLessThan(dropped.indexOf('.git/objects/ab'))
    expect(dropped.indexOf('.git/objects')).toBeLessThan(dropped.indexOf('.git'))
    expect(dropped).toContain('packages/p/.turbo')
    expect(dropped).not.toContain('node_modules')
    expect(s.bytes).toBe(
      ['{"name":"r"}', 'export const a = 1\n', 'module.exports = 1\n', '{}', 'odd'].join('').length,
    )
  })
})

describe('debugfsQuote / pruneCommands', () => {
  it('quotes with doubled quotes and refuses line breaks', () => {
    expect(debugfsQuote('/a b/"c"')).toBe('"/a b/""c"""')
    expect(debugfsQuote('/a\nb')).toBeUndefined()
  })

  it('removes files, then directories, then lost+found', () => {
    const cmds = pruneCommands([
      { rel: '.git/HEAD', dir: false },
      { rel: '.git', dir: true },
      { rel: 'bad\nname', dir: false },
    ])
    expect(cmds).toBe('rm "/.git/HEAD"\nrmdir "/.git"\nrmdir "/lost+found"\n')
  })
})

describe('imageSizeMiB', () => {
  it('leaves room: twice the data plus 1 GiB, at least 1 GiB', () => {
    expect(imageSizeMiB(0)).toBe(1024)
    expect(imageSizeMiB(250 * 2 ** 20)).toBe(1524)
  })
})

describe('buildPayload', () => {
  it('makes an ext4 image of the repository without the excluded paths, and a job disk', async () => {
    const root = path.join(tmp, 'repo')
    const runDir = path.join(tmp, 'run')
    makeRepo(root)
    mkdirSync(runDir)
    const debugfs = which('debugfs') as string
    const p = await buildPayload({
      runDir,
      repoRoot: root,
      jobScript: 'exec true\n',
      mkfs: which('mkfs.ext4') as string,
      debugfs,
    })
    const ls = (dir: string) =>
      spawnSync(debugfs, ['-R', `ls -l "${dir}"`, p.image], { encoding: 'utf8' }).stdout
    const top = ls('/')
    for (const kept of ['package.json', 'src', 'node_modules', 'test-results', 'odd "name" dir'])
      expect(top).toContain(kept)
    for (const gone of ['.git', '.kvm-host', '.turbo', 'lost+found'])
      expect(top).not.toContain(gone)
    expect(ls('/node_modules')).not.toContain('.cache')
    expect(ls('/node_modules')).toContain('.pnpm')
    expect(ls('/packages/p')).not.toContain('.turbo')
    const cat = spawnSync(debugfs, ['-R', 'cat "/odd ""name"" dir/file with spaces"', p.image], {
      encoding: 'utf8',
    })
    expect(cat.stdout).toBe('odd')
    const fsck = spawnSync(which('e2fsck') ?? 'e2fsck', ['-fn', p.image], { encoding: 'utf8' })
    expect(fsck.status).toBe(0)
    const tar = spawnSync('tar', ['-xOf', p.jobDisk, 'run.sh', 'repo'], { encoding: 'utf8' })
    expect(tar.stdout).toBe(`exec true\n${root}\n`)
  })
})
