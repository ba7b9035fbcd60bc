// The operations of docs/misc/xenstore.txt through a real ring, payload formats and errno
// replies as xenstored/QEMU send them.
import { describe, expect, it } from 'vitest'
import { joinFields, XsType } from '../src/index.js'
import { FakeGuest, populate, strings } from './helpers.js'

function guest() {
  const g = new FakeGuest()
  populate(g)
  return g
}

describe('read, write, mkdir, rm', () => {
  it('writes and reads a value, relative and absolute paths naming the same node', () => {
    const g = guest()
    expect(g.do('WRITE', ['data/x'])).toBe('OK') // <path>| and an empty value
    expect(g.do('READ', ['data/x'])).toBe('')
    expect(g.raw(XsType.WRITE, new Uint8Array([...Buffer.from('data/x\0'), 1, 0, 2])).type).toBe(
      XsType.WRITE,
    )
    const r = g.raw(XsType.READ, joinFields(['/local/domain/1/data/x']))
    expect(r.type).toBe(XsType.READ)
    expect([...r.payload]).toEqual([1, 0, 2]) // values are bytes, NULs included, no terminator
  })

  it('WRITE creates missing parents with empty values', () => {
    const g = guest()
    g.raw(XsType.WRITE, Buffer.from('data/a/b/c\0v'))
    expect(g.do('READ', ['data/a/b'])).toBe('')
    expect(g.do('DIRECTORY', ['data/a'])).toBe('b')
  })

  it('READ of a missing node is ENOENT; a node the guest cannot read is EACCES', () => {
    const g = guest()
    expect(g.do('READ', ['data/nope'])).toBe('ENOENT')
    g.server.store.write(0, 0, '/secret', 'x')
    expect(g.do('READ', ['/secret'])).toBe('EACCES')
    expect(g.do('READ', ['domid'])).toBe('1')
  })

  it('MKDIR creates once and leaves an existing value alone', () => {
    const g = guest()
    expect(g.do('MKDIR', ['data/d'])).toBe('OK')
    g.raw(XsType.WRITE, Buffer.from('data/d\0keep'))
    expect(g.do('MKDIR', ['data/d'])).toBe('OK')
    expect(g.do('READ', ['data/d'])).toBe('keep')
  })

  it('RM removes a subtree; a missing node with a parent is OK, without a parent ENOENT', () => {
    const g = guest()
    g.raw(XsType.WRITE, Buffer.from('data/t/u/v\0x'))
    expect(g.do('RM', ['data/t'])).toBe('OK')
    expect(g.do('READ', ['data/t/u'])).toBe('ENOENT')
    expect(g.do('RM', ['data/t'])).toBe('OK')
    expect(g.do('RM', ['data/t/u'])).toBe('ENOENT')
    expect(g.do('RM', ['/'])).toBe('EINVAL')
  })

  it('the guest cannot write or remove nodes it may only read', () => {
    const g = guest()
    expect(g.do('WRITE', ['domid'])).toBe('EACCES')
    expect(g.do('RM', ['domid'])).toBe('EACCES')
    expect(g.do('WRITE', ['newtop'])).toBe('EACCES') // home is n0 r1: no creating under it
    expect(g.server.store.read(0, 0, '/local/domain/1/domid')).toEqual(new Uint8Array([0x31]))
  })
})

describe('paths', () => {
  it.each([
    ['', 'EINVAL'],
    ['data//x', 'EINVAL'],
    ['data/x/', 'EINVAL'],
    ['data/x y', 'EINVAL'],
    ['data/\u00e9', 'EINVAL'],
    [`/${'a'.repeat(3072)}`, 'E2BIG'],
    ['a'.repeat(2049), 'E2BIG'],
  ])('READ %j is %s', (path, err) => {
    const g = guest()
    expect(g.do('READ', [path])).toBe(err)
  })

  it('GET_DOMAIN_PATH answers /local/domain/<domid>', () => {
    const g = guest()
    expect(g.do('GET_DOMAIN_PATH', ['7'])).toBe('/local/domain/7')
    expect(g.do('GET_DOMAIN_PATH', ['x'])).toBe('EINVAL')
    expect(g.do('GET_DOMAIN_PATH', ['65536'])).toBe('EINVAL')
  })
})

describe('directory', () => {
  it('DIRECTORY lists leaf names sorted', () => {
    const g = guest()
    for (const n of ['b', 'a', 'c']) g.raw(XsType.WRITE, Buffer.from(`data/${n}\0`))
    expect(g.do('DIRECTORY', ['data'])).toBe('a|b|c')
  })

  it('DIRECTORY too long for one message is E2BIG; DIRECTORY_PART pages it with a gencnt', () => {
    const g = guest()
    const names = Array.from(
      { length: 60 },
      (_, i) => `${String(i).padStart(2, '0')}${'n'.repeat(98)}`,
    )
    for (const n of names) g.server.store.write(0, 0, `/local/domain/1/data/${n}`, '')
    expect(g.do('DIRECTORY', ['data'])).toBe('E2BIG')
    const got: number[] = []
    let gencnt = ''
    for (let offset = 0; ; ) {
      const r = g.raw(XsType.DIRECTORY_PART, joinFields(['data', String(offset)]))
      expect(r.type).toBe(XsType.DIRECTORY_PART)
      const nul = r.payload.indexOf(0)
      const gen = Buffer.from(r.payload.subarray(0, nul)).toString()
      if (gencnt) expect(gen).toBe(gencnt)
      gencnt = gen
      const body = r.payload.subarray(nul + 1)
      const end = body.length > 0 && body[body.length - 1] === 0 && body[body.length - 2] === 0
      const chunk = end ? body.subarray(0, body.length - 1) : body
      got.push(...chunk)
      offset += chunk.length
      if (end || body.length === 1) break
    }
    expect(strings(Uint8Array.from(got))).toEqual(names)
    expect(Number(gencnt)).toBe(60)
  })

  it('DIRECTORY_PART with garbage after the offset, or a bad offset, is EINVAL', () => {
    const g = guest()
    expect(g.do('DIRECTORY_PART', ['data', '0', 'x'])).toBe('EINVAL')
    expect(g.do('DIRECTORY_PART', ['data', '-1'])).toBe('EINVAL')
    expect(g.do('DIRECTORY_PART', ['data'])).toBe('EINVAL')
  })
})

describe('permissions', () => {
  it('GET_PERMS lists owner first; SET_PERMS by the owner works, giving it away is EPERM', () => {
    const g = guest()
    g.raw(XsType.WRITE, Buffer.from('data/p\0'))
    expect(g.do('GET_PERMS', ['data/p'])).toBe('n1')
    expect(g.do('SET_PERMS', ['data/p', 'n1', 'r0', 'b2'])).toBe('OK')
    expect(g.do('GET_PERMS', ['data/p'])).toBe('n1|r0|b2')
    expect(g.do('SET_PERMS', ['data/p', 'n2'])).toBe('EPERM')
    expect(g.do('SET_PERMS', ['domid', 'n1'])).toBe('EACCES')
  })

  it('SET_PERMS rejects bad entries and more than maxPermsPerNode', () => {
    const g = guest()
    g.raw(XsType.WRITE, Buffer.from('data/p\0'))
    expect(g.do('SET_PERMS', ['data/p', 'x1'])).toBe('EINVAL')
    expect(g.do('SET_PERMS', ['data/p', 'r'])).toBe('EINVAL')
    expect(g.do('SET_PERMS', ['data/p'])).toBe('EINVAL')
    expect(g.do('SET_PERMS', ['data/p', 'n1', 'r2', 'r3', 'r4', 'r5', 'r6'])).toBe('ENOSPC')
  })

  it('a write-only grant lets the guest write but not read', () => {
    const g = guest()
    const s = g.server.store
    s.write(0, 0, '/backend/x', 'v')
    s.setPerms(0, 0, '/backend/x', [
      { access: 'n', domid: 0 },
      { access: 'w', domid: 1 },
    ])
    expect(g.do('READ', ['/backend/x'])).toBe('EACCES')
    expect(g.do('WRITE', ['/backend/x'])).toBe('OK')
    expect(g.do('DIRECTORY', ['/backend'])).toBe('EACCES')
  })
})

describe('privileged and unknown requests', () => {
  it.each([
    'INTRODUCE',
    'RELEASE',
    'CONTROL',
    'IS_DOMAIN_INTRODUCED',
    'RESUME',
    'SET_TARGET',
  ] as const)('%s from a guest is EACCES', (t) => {
    const g = guest()
    expect(g.do(t, ['1', '2', '3'])).toBe('EACCES')
  })

  it('an unknown type, WATCH_EVENT or ERROR from the guest is ENOSYS with the req_id echoed', () => {
    const g = guest()
    for (const t of [XsType.WATCH_EVENT, XsType.ERROR, 20, 23, 0xffff, 0xffffffff]) {
      const r = g.raw(t, joinFields(['x']), 5)
      expect(r.type).toBe(XsType.ERROR)
      expect(r.txId).toBe(5)
      expect(strings(r.payload)).toEqual(['ENOSYS'])
    }
  })

  it('unterminated strings are EINVAL for every request that takes a path', () => {
    const g = guest()
    for (const t of [
      'READ',
      'WRITE',
      'MKDIR',
      'RM',
      'DIRECTORY',
      'GET_PERMS',
      'SET_PERMS',
      'WATCH',
    ] as const) {
      const r = g.raw(XsType[t], Buffer.from('data/abc'))
      expect([t, strings(r.payload)[0]]).toEqual([t, 'EINVAL'])
    }
    expect(strings(g.raw(XsType.READ, new Uint8Array(0)).payload)).toEqual(['EINVAL'])
  })
})
