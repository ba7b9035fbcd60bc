import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { debianSources, pickMirror } from '../lib/kernel.mjs'

describe('pickMirror', () => {
  it('takes the archive of a deb822 stanza for this codename, not the security one', () => {
    const text = [
      'Types: deb',
      'URIs: http://deb.debian.org/debian-security',
      'Suites: bookworm-security',
      '',
      'Types: deb',
      'URIs: http://mirror.example/debian/',
      'Suites: bookworm bookworm-updates',
      'Components: main',
    ].join('\n')
    expect(pickMirror(text, 'bookworm')).toBe('http://mirror.example/debian')
  })

  it('reads one-line sources with options, ignoring third-party repositories', () => {
    const text = [
      'deb https://packages.cloud.example/apt cloud-sdk-bookworm main',
      'deb [arch=amd64 signed-by=/k.gpg] http://ftp.example/debian bookworm main',
    ].join('\n')
    expect(pickMirror(text, 'bookworm')).toBe('http://ftp.example/debian')
  })

  it('falls back to deb.debian.org when no source names a Debian archive', () => {
    expect(pickMirror('deb https://deb.nodesource.com/node_20.x nodistro main', 'bookworm')).toBe(
      'http://deb.debian.org/debian',
    )
  })
})

describe('debianSources', () => {
  const etc = mkdtempSync(path.join(os.tmpdir(), 'kvm-host-etc-'))
  afterAll(() => rmSync(etc, { recursive: true, force: true }))

  it('reads the codename from os-release and sources from both places', () => {
    mkdirSync(path.join(etc, 'apt', 'sources.list.d'), { recursive: true })
    writeFileSync(path.join(etc, 'os-release'), 'ID=debian\nVERSION_CODENAME=trixie\n')
    writeFileSync(path.join(etc, 'apt', 'sources.list'), '')
    writeFileSync(
      path.join(etc, 'apt', 'sources.list.d', 'debian.sources'),
      'Types: deb\nURIs: http://m.example/debian\nSuites: trixie\n',
    )
    expect(debianSources(etc)).toEqual({ mirror: 'http://m.example/debian', codename: 'trixie' })
  })
})
