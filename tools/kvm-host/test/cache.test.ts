import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  cacheKey,
  cacheRoot,
  ensureEntry,
  pruneEntries,
  stableStringify,
  withLock,
} from '../lib/cache.mjs'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'kvm-host-cache-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('cacheRoot', () => {
  it('honours TSVMM_KVM_HOST_CACHE, else lives under ~/.cache', () => {
    expect(cacheRoot({ TSVMM_KVM_HOST_CACHE: '/x/y' })).toBe('/x/y')
    expect(cacheRoot({})).toBe(path.join(os.homedir(), '.cache', 'tsvmm', 'kvm-host'))
  })
})

describe('cacheKey', () => {
  const inputs = {
    kernel: '6.12.95+deb12-cloud-amd64 6.12.95-1~bpo12+1',
    node: { p: '/usr/bin/node', size: 100, mtime: 5, version: 'v20.20.2' },
    init: '#!/bin/sh\n',
    tool: { version: '0.1.0', builder: 'abc' },
  }

  it('does not depend on the order of keys', () => {
    const reordered = {
      tool: inputs.tool,
      init: inputs.init,
      node: inputs.node,
      kernel: inputs.kernel,
    }
    expect(cacheKey(reordered)).toBe(cacheKey(inputs))
    expect(stableStringify({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}')
  })

  it('changes with each input: kernel version, node binary, init script, tool version', () => {
    const keys = new Set([
      cacheKey(inputs),
      cacheKey({ ...inputs, kernel: '6.12.96+deb12-cloud-amd64 6.12.96-1~bpo12+1' }),
      cacheKey({ ...inputs, node: { ...inputs.node, mtime: 6 } }),
      cacheKey({ ...inputs, init: '#!/bin/sh\n# changed\n' }),
      cacheKey({ ...inputs, tool: { ...inputs.tool, version: '0.1.1' } }),
    ])
    expect(keys.size).toBe(5)
  })
})

describe('ensureEntry', () => {
  it('builds once, then reuses the complete entry', async () => {
    const dir = path.join(tmp, 'entries')
    let builds = 0
    const build = async (t: string) => {
      builds++
      mkdirSync(t, { recursive: true })
      writeFileSync(path.join(t, 'file'), 'content')
    }
    const a = await ensureEntry(dir, 'k1', build)
    const b = await ensureEntry(dir, 'k1', build)
    expect(a).toBe(b)
    expect(builds).toBe(1)
    expect(readFileSync(path.join(a, 'file'), 'utf8')).toBe('content')
  })

  it('leaves nothing behind when the build fails, and rebuilds an incomplete leftover', async () => {
    const dir = path.join(tmp, 'failing')
    await expect(
      ensureEntry(dir, 'k', async (t) => {
        mkdirSync(t, { recursive: true })
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(existsSync(path.join(dir, 'k'))).toBe(false)
    mkdirSync(path.join(dir, 'k2'), { recursive: true }) // no .complete: half an entry
    const e = await ensureEntry(dir, 'k2', async (t) => {
      mkdirSync(t, { recursive: true })
      writeFileSync(path.join(t, 'ok'), '')
    })
    expect(existsSync(path.join(e, 'ok'))).toBe(true)
  })
})

describe('withLock', () => {
  it('serializes holders', async () => {
    const lock = path.join(tmp, 'serial.lock')
    const order: string[] = []
    const hold = (name: string) =>
      withLock(lock, async () => {
        order.push(`${name}+`)
        await new Promise((r) => setTimeout(r, 30))
        order.push(`${name}-`)
      })
    await Promise.all([hold('a'), hold('b')])
    expect(order.join(' ')).toMatch(/^(a\+ a- b\+ b-|b\+ b- a\+ a-)$/)
    expect(existsSync(lock)).toBe(false)
  })

  it('takes over a lock whose owner is dead', async () => {
    const lock = path.join(tmp, 'stale.lock')
    mkdirSync(lock)
    writeFileSync(path.join(lock, 'pid'), '999999999')
    await expect(withLock(lock, async () => 'got it', { waitMs: 2000 })).resolves.toBe('got it')
  })

  it('gives up waiting for a live owner after the wait limit', async () => {
    const lock = path.join(tmp, 'live.lock')
    mkdirSync(lock)
    writeFileSync(path.join(lock, 'pid'), String(process.pid))
    const waits: number[] = []
    await expect(
      withLock(lock, async () => 'never', { waitMs: 1500, onWait: (pid) => waits.push(pid) }),
    ).rejects.toThrow('timed out waiting')
    expect(waits).toEqual([process.pid])
  })
})

describe('pruneEntries', () => {
  it('keeps the entry just used and the most recent others, drops old temporary builds', () => {
    const dir = path.join(tmp, 'prune')
    const day = 86_400
    const ages: Record<string, number> = {
      a: 5,
      b: 1,
      c: 3,
      d: 2,
      'x.tmp-1-2': 2 * day,
      'y.tmp-3-4': 10,
    }
    for (const [name, age] of Object.entries(ages)) {
      mkdirSync(path.join(dir, name), { recursive: true })
      const t = Date.now() / 1000 - age
      utimesSync(path.join(dir, name), t, t)
    }
    pruneEntries(path.join(dir, 'a'), 3) // the oldest, but in use now
    expect(readdirSync(dir).sort()).toEqual(['a', 'b', 'd', 'y.tmp-3-4'])
  })
})
