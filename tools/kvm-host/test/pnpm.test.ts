import {
  chmodSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { baseImageInputs } from '../lib/base-image.mjs'
import { cacheKey } from '../lib/cache.mjs'
import { findPnpm, missingPnpmHint, onPath } from '../lib/pnpm.mjs'

const tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'kvm-host-pnpm-')))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function file(p: string, text = '', mode = 0o644) {
  mkdirSync(path.dirname(p), { recursive: true })
  writeFileSync(p, text)
  chmodSync(p, mode)
}

/** pnpm >= 11 as `npm i -g pnpm` leaves it: a native binary, hard-linked under four names. */
function nativeLayout(prefix: string, version = '12.21.0') {
  const pkg = path.join(prefix, 'lib/node_modules/pnpm')
  file(path.join(pkg, 'package.json'), JSON.stringify({ name: 'pnpm', version }))
  file(path.join(pkg, 'pnpm'), `ELF ${version}`, 0o755)
  for (const alias of ['pn', 'pnpx', 'pnx']) linkSync(path.join(pkg, 'pnpm'), path.join(pkg, alias))
  mkdirSync(path.join(pkg, 'node_modules/@pnpm/exe.linux-x64'), { recursive: true })
  linkSync(path.join(pkg, 'pnpm'), path.join(pkg, 'node_modules/@pnpm/exe.linux-x64/pnpm'))
  file(path.join(pkg, 'CHANGELOG.md'), 'long')
  file(path.join(pkg, 'bin/pnpm.mjs'), '// corepack entry')
  file(path.join(pkg, 'dist/node-gyp-bin/node-gyp'), '#!/bin/sh', 0o755)
  file(path.join(pkg, 'dist/node_modules/node-gyp/README.md'), 'kept: not top-level')
  symlinkSync('node-gyp/README.md', path.join(pkg, 'dist/node_modules/readme'))
  mkdirSync(path.join(prefix, 'bin'), { recursive: true })
  symlinkSync('../lib/node_modules/pnpm/pnpm', path.join(prefix, 'bin/pnpm'))
  return pkg
}

describe('findPnpm', () => {
  const native = path.join(tmp, 'native')
  const nativePkg = nativeLayout(native)

  it('finds a native pnpm on PATH and lists what the guest needs, without the 65 MB duplicates', () => {
    const p = findPnpm({ PATH: `${tmp}/nothing-here:${native}/bin:/usr/bin` })
    expect(p).toEqual({
      real: path.join(nativePkg, 'pnpm'),
      root: nativePkg,
      version: '12.21.0',
      files: [
        'bin/pnpm.mjs',
        'dist/node-gyp-bin/node-gyp',
        'dist/node_modules/node-gyp/README.md',
        'dist/node_modules/readme',
        'package.json',
        'pnpm',
      ].map((f) => path.join(nativePkg, f)),
    })
  })

  it('finds pnpm <= 10, a script node runs, with its bundled dist/', () => {
    const pkg = path.join(tmp, 'js/lib/node_modules/pnpm')
    file(path.join(pkg, 'package.json'), JSON.stringify({ name: 'pnpm', version: '9.15.9' }))
    file(path.join(pkg, 'bin/pnpm.cjs'), '#!/usr/bin/env node\nrequire("../dist/pnpm.cjs")', 0o755)
    file(path.join(pkg, 'dist/pnpm.cjs'), '')
    file(path.join(tmp, 'js/bin/.keep'))
    symlinkSync('../lib/node_modules/pnpm/bin/pnpm.cjs', path.join(tmp, 'js/bin/pnpm'))
    const p = findPnpm({ PATH: path.join(tmp, 'js/bin') })
    expect(p?.real).toBe(path.join(pkg, 'bin/pnpm.cjs'))
    expect(p?.root).toBe(pkg)
    expect(p?.version).toBe('9.15.9')
    expect(p?.files).toEqual(
      ['bin/pnpm.cjs', 'dist/pnpm.cjs', 'package.json'].map((f) => path.join(pkg, f)),
    )
  })

  it('takes a standalone binary (no pnpm package around it) alone', () => {
    const bin = path.join(tmp, 'standalone/pnpm')
    file(bin, 'ELF', 0o755)
    expect(findPnpm({ PATH: path.dirname(bin) })).toEqual({
      real: bin,
      root: bin,
      version: '',
      files: [bin],
    })
  })

  it('takes a binary inside some other package as standalone', () => {
    const dir = path.join(tmp, 'other')
    file(path.join(dir, 'package.json'), JSON.stringify({ name: 'not-pnpm', version: '1.0.0' }))
    file(path.join(dir, 'bin/pnpm'), 'ELF', 0o755)
    expect(findPnpm({ PATH: path.join(dir, 'bin') })?.files).toEqual([path.join(dir, 'bin/pnpm')])
  })

  it('prefers the pnpm that runs kvm-host (npm_execpath) over the PATH', () => {
    const other = path.join(tmp, 'other-native')
    const otherPkg = nativeLayout(other, '10.0.0')
    const env = {
      PATH: `${native}/bin`,
      npm_execpath: path.join(otherPkg, 'pnpm'),
      npm_config_user_agent: 'pnpm/10.0.0 npm/? node/v20.20.2 linux x64',
    }
    expect(findPnpm(env)?.version).toBe('10.0.0')
    // npm's npm_execpath is npm-cli.js, not a pnpm
    expect(findPnpm({ ...env, npm_config_user_agent: 'npm/11.0.0 node/v20' })?.version).toBe(
      '12.21.0',
    )
    // a stale npm_execpath that names nothing falls back to the PATH
    expect(findPnpm({ ...env, npm_execpath: path.join(tmp, 'gone') })?.version).toBe('12.21.0')
  })

  it('finds none without an executable pnpm on an absolute PATH entry', () => {
    const dir = path.join(tmp, 'noexec')
    file(path.join(dir, 'pnpm'), 'not executable', 0o644)
    mkdirSync(path.join(dir, 'sub/pnpm'), { recursive: true }) // a directory is no command
    expect(findPnpm({ PATH: `${dir}:${dir}/sub` })).toBeUndefined()
    expect(findPnpm({})).toBeUndefined()
    // relative entries would depend on kvm-host's own cwd
    expect(onPath('pnpm', `native/bin:.:`)).toBeUndefined()
    expect(onPath('pnpm', `native/bin:${native}/bin`)).toBe(`${native}/bin/pnpm`)
  })
})

describe('baseImageInputs with pnpm', () => {
  const kernel = { release: '6.12.95', version: '6.12.95-1' }
  const bins = { node: process.execPath, busybox: process.execPath }
  const prefix = path.join(tmp, 'inputs')
  const pkg = nativeLayout(prefix)
  const pnpm = () => findPnpm({ PATH: path.join(prefix, 'bin') })

  it('is part of the image identity: another pnpm or a changed file rebuilds', () => {
    const without = baseImageInputs(kernel, bins)
    expect(without.pnpm).toBeNull()
    const withPnpm = baseImageInputs(kernel, { ...bins, pnpm: pnpm() })
    expect(withPnpm.pnpm?.real).toBe(path.join(pkg, 'pnpm'))
    expect(withPnpm.pnpm?.version).toBe('12.21.0')
    expect(withPnpm.pnpm?.files.map((f) => f.p)).toEqual(pnpm()?.files)
    expect(cacheKey(withPnpm)).not.toBe(cacheKey(without))
    expect(cacheKey(baseImageInputs(kernel, { ...bins, pnpm: pnpm() }))).toBe(cacheKey(withPnpm))

    // a reinstall of dist/ (same size, new mtime) gives another key
    const gyp = path.join(pkg, 'dist/node-gyp-bin/node-gyp')
    utimesSync(gyp, new Date(), new Date(Date.now() + 5000))
    expect(cacheKey(baseImageInputs(kernel, { ...bins, pnpm: pnpm() }))).not.toBe(
      cacheKey(withPnpm),
    )
  })
})

describe('missingPnpmHint', () => {
  const some = findPnpm({ PATH: path.join(tmp, 'native/bin') })

  it('explains a 127 of a command that names pnpm on a host without pnpm, in one line', () => {
    const hint = missingPnpmHint(['pnpm', 'tsvmm', 'caps'], 127, undefined)
    expect(hint).toMatch(/pnpm was not found on this host/)
    expect(hint).not.toContain('\n')
    expect(missingPnpmHint(['sh', '-c', 'cd x && pnpm test'], 127, undefined)).toBe(hint)
  })

  it('says nothing otherwise', () => {
    expect(some).toBeDefined()
    expect(missingPnpmHint(['pnpm', 'tsvmm'], 127, some)).toBeUndefined()
    expect(missingPnpmHint(['pnpm', 'tsvmm'], 1, undefined)).toBeUndefined()
    expect(missingPnpmHint(['pnpm', 'tsvmm'], 0, undefined)).toBeUndefined()
    expect(missingPnpmHint(['no-such-tool'], 127, undefined)).toBeUndefined()
  })
})
