import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freshEnv } from '../lib/provision.mjs'
import { FRESH_PACKAGES, hostMirrors, rootSources } from '../lib/root.mjs'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'check-fresh-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('hostMirrors', () => {
  it('reads the archive and security mirrors from deb822 sources, ignoring disabled files', () => {
    const etc = path.join(tmp, 'etc')
    mkdirSync(path.join(etc, 'apt', 'sources.list.d'), { recursive: true })
    writeFileSync(path.join(etc, 'os-release'), 'VERSION_CODENAME=bookworm\n')
    writeFileSync(
      path.join(etc, 'apt', 'sources.list.d', 'debian.sources'),
      [
        'Types: deb',
        'URIs: http://mirror.example/debian/',
        'Suites: bookworm bookworm-updates',
        '',
        'Types: deb',
        'URIs: http://mirror.example/debian-security',
        'Suites: bookworm-security',
      ].join('\n'),
    )
    writeFileSync(
      path.join(etc, 'apt', 'sources.list.d', 'other.list.disabled'),
      'deb http://elsewhere.example/debian bookworm main\n',
    )
    expect(hostMirrors(etc)).toEqual({
      archive: 'http://mirror.example/debian',
      security: 'http://mirror.example/debian-security',
    })
  })
})

describe('rootSources', () => {
  it("points a trixie root at the host's mirrors with trixie's suites", () => {
    const text = rootSources('trixie', { archive: 'http://m/debian', security: 'http://m/sec' })
    expect(text).toContain('URIs: http://m/debian\nSuites: trixie trixie-updates\n')
    expect(text).toContain('URIs: http://m/sec\nSuites: trixie-security\n')
  })

  it('leaves security out when the host has no security source', () => {
    expect(
      rootSources('bookworm', { archive: 'http://m/debian', security: undefined }),
    ).not.toMatch(/security/)
  })
})

describe('freshEnv', () => {
  it("keeps PATH, the empty HOME and the host's CA and proxy variables, nothing else", () => {
    const env = freshEnv(
      {
        SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt',
        NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt',
        https_proxy: 'http://proxy:3128',
        PNPM_HOME: '/root/.local/share/pnpm',
        TSVMM_KVM_HOST_CACHE: '/x',
        HOME: '/host-home',
      },
      '/root',
    )
    expect(env.HOME).toBe('/root')
    expect(env.SSL_CERT_FILE).toBe('/etc/ssl/certs/ca-certificates.crt')
    expect(env.NODE_EXTRA_CA_CERTS).toBe('/etc/ssl/certs/ca-certificates.crt')
    expect(env.https_proxy).toBe('http://proxy:3128')
    expect(env.PNPM_HOME).toBeUndefined()
    expect(env.TSVMM_KVM_HOST_CACHE).toBeUndefined()
    expect(env.PATH).toContain('/usr/bin')
  })
})

describe('FRESH_PACKAGES', () => {
  it('is exactly what a machine of this kind has (no libxen-dev, no QEMU)', () => {
    expect([...FRESH_PACKAGES].sort()).toEqual(
      [
        'ca-certificates',
        'e2fsprogs',
        'g++',
        'gcc',
        'git',
        'make',
        'procps',
        'python3',
        'xz-utils',
      ].sort(),
    )
  })
})
