// Differential check against QEMU's xenstore (hw/i386/kvm/xenstore_impl.c, QEMU 8.0 to 10):
// the subtle rules (watches on parents and children, transactions, permission inheritance),
// as QEMU's own tests/unit/test-xs-node.c exercises them and as the cited functions implement
// them, replayed against this store with the same calls. QEMU's watch callback appends
// path+token to a string; `fired` collects the same pairs. Where this store follows xenstored
// instead of QEMU, the last block says so and pins our behaviour.
import { describe, expect, it } from 'vitest'
import { Xenstore, type XsPerm } from '../src/index.js'

const GUEST = 1
const QEMU = 0
const n = (domid: number): XsPerm => ({ access: 'n', domid })
const r = (domid: number): XsPerm => ({ access: 'r', domid })

/** test-xs-node.c setup(): the guest home, readable; "some" under it owned by the guest. */
function setup() {
  const s = new Xenstore()
  s.write(QEMU, 0, '/local/domain/1', '')
  expect(s.nodeCount).toBe(4)
  s.setPerms(QEMU, 0, '/local/domain/1', [n(QEMU), r(GUEST)])
  s.write(QEMU, 0, '/local/domain/1/some', '')
  expect(s.nodeCount).toBe(5)
  s.setPerms(QEMU, 0, '/local/domain/1/some', [n(GUEST)])
  return s
}

function recorder() {
  const fired: string[] = []
  return {
    fired,
    cb: (path: string, token: string) => fired.push(path + token),
    take: () => fired.splice(0),
  }
}

const errno = (f: () => unknown) => {
  try {
    f()
    return 0
  } catch (e) {
    return (e as { code: string }).code
  }
}

describe('QEMU test-xs-node.c replayed', () => {
  it('/xs_node/simple: relative watches, EACCES, gencnt, rm fires the least specific path', () => {
    const s = setup()
    const g = recorder()
    const q = recorder()
    s.watch(GUEST, 'some', 'guestwatch', g.cb)
    expect(g.take()).toEqual(['someguestwatch'])
    s.watch(QEMU, '/local/domain/1/some', 'qemuwatch', q.cb)
    expect(q.take()).toEqual(['/local/domain/1/someqemuwatch'])
    expect(errno(() => s.read(GUEST, 0, 'foo'))).toBe('ENOENT')
    s.write(GUEST, 0, 'some/relative/path', 'something')
    expect(s.nodeCount).toBe(7)
    expect(g.take()).toEqual(['some/relative/pathguestwatch'])
    expect(q.take()).toEqual(['/local/domain/1/some/relative/pathqemuwatch'])
    s.resetWatches(QEMU)
    expect(Buffer.from(s.read(GUEST, 0, '/local/domain/1/some/relative/path')).toString()).toBe(
      'something',
    )
    expect(errno(() => s.write(GUEST, 0, '/local/domain/badplace', 'moredata'))).toBe('EACCES')
    expect(s.nodeCount).toBe(7)
    s.write(GUEST, 0, '/local/domain/1/some/relative/path2', 'something else')
    expect(s.nodeCount).toBe(8)
    expect(g.take()).toEqual(['some/relative/path2guestwatch'])
    expect(q.fired).toEqual([])
    s.write(GUEST, 0, 'some/relative/path', 'another thing')
    expect(g.take()).toEqual(['some/relative/pathguestwatch'])
    const dir = s.directory(GUEST, 0, 'some/relative')
    expect(dir).toEqual({ children: ['path', 'path2'], gencnt: 2 })
    s.unwatch(GUEST, 'some', 'guestwatch')
    expect(errno(() => s.unwatch(GUEST, 'some', 'guestwatch'))).toBe('ENOENT')
    s.watch(GUEST, 'some/relative/path2', 'watchp2', g.cb)
    s.watch(GUEST, '/local/domain/1/some/relative', 'watchrel', g.cb)
    expect(g.take()).toEqual([
      'some/relative/path2watchp2',
      '/local/domain/1/some/relativewatchrel',
    ])
    s.write(GUEST, 0, 'some/relative', 'moredata')
    expect(s.nodeCount).toBe(8)
    expect(g.take()).toEqual(['/local/domain/1/some/relativewatchrel'])
    s.rm(GUEST, 0, 'some/relative')
    expect(s.nodeCount).toBe(5)
    expect(g.take().sort()).toEqual([
      '/local/domain/1/some/relativewatchrel',
      'some/relative/path2watchp2',
    ])
    expect(errno(() => s.read(GUEST, 0, 'some/relative'))).toBe('ENOENT')
  })

  it.each([
    ['/xs_node/tx_succeed', false, true],
    ['/xs_node/tx_fail', true, true],
    ['/xs_node/tx_abort (clean)', false, false],
    ['/xs_node/tx_abort (after a live write)', true, false],
  ])('%s (do_test_xs_node_tx)', (_, fail, commit) => {
    const s = setup()
    const w = recorder()
    s.watch(GUEST, 'some', 'watch', w.cb)
    w.take()
    s.write(GUEST, 0, 'some/relative/path', 'something')
    expect(s.nodeCount).toBe(7)
    expect(w.take()).toEqual(['some/relative/pathwatch'])
    const tx = s.transactionStart(GUEST)
    if (fail) {
      s.write(GUEST, 0, 'some/relative/path', 'another thing')
      expect(w.take()).toEqual(['some/relative/pathwatch'])
    }
    s.write(GUEST, tx, 'some/relative/path', 'something else')
    expect(w.fired).toEqual([])
    const live = () => Buffer.from(s.read(GUEST, 0, 'some/relative/path')).toString()
    expect(live()).toBe(fail ? 'another thing' : 'something')
    expect(Buffer.from(s.read(GUEST, tx, 'some/relative/path')).toString()).toBe('something else')
    expect(errno(() => s.transactionEnd(GUEST, tx, commit))).toBe(commit && fail ? 'EAGAIN' : 0)
    expect(w.take()).toEqual(commit && !fail ? ['some/relative/pathwatch'] : [])
    expect(s.nodeCount).toBe(7)
    expect(live()).toBe(fail ? 'another thing' : commit ? 'something else' : 'something')
  })

  it('/xs_node/tx_rm: a subtree removed in a transaction fires its topmost node once, on commit', () => {
    const s = setup()
    const w = recorder()
    s.watch(GUEST, 'some', 'watch', w.cb)
    s.write(GUEST, 0, 'some/deep/dark/relative/path', 'something')
    expect(s.nodeCount).toBe(9)
    w.take()
    const tx = s.transactionStart(GUEST)
    s.rm(GUEST, tx, 'some/deep/dark')
    expect(s.nodeCount).toBe(9)
    expect(Buffer.from(s.read(GUEST, 0, 'some/deep/dark/relative/path')).toString()).toBe(
      'something',
    )
    s.transactionEnd(GUEST, tx, true)
    expect(s.nodeCount).toBe(6)
    expect(w.take()).toEqual(['some/deep/darkwatch'])
    expect(errno(() => s.read(GUEST, 0, 'some/deep/dark/relative/path'))).toBe('ENOENT')
  })

  function resurrectSetup() {
    const s = setup()
    s.write(GUEST, 0, 'some/deep/dark/relative/path', 'something')
    s.write(GUEST, 0, 'some/place/safe', 'keepme')
    expect(s.nodeCount).toBe(11)
    s.write(GUEST, 0, 'some/deep/dark', 'foo')
    const w = recorder()
    s.watch(GUEST, 'some', 'watch', w.cb)
    w.take()
    const tx = s.transactionStart(GUEST)
    s.rm(GUEST, tx, 'some/deep')
    return { s, w, tx }
  }

  it('/xs_node/tx_resurrect: lost data and the topmost still-deleted node fire', () => {
    const { s, w, tx } = resurrectSetup()
    s.write(GUEST, tx, 'some/deep/dark/different/path', 'something')
    s.transactionEnd(GUEST, tx, true)
    expect(s.nodeCount).toBe(11)
    expect(w.take().sort()).toEqual([
      'some/deep/dark/different/pathwatch', // lost data
      'some/deep/dark/relativewatch', // topmost deleted
      'some/deep/darkwatch', // lost data
    ])
    expect(errno(() => s.read(GUEST, 0, 'some/deep/dark/relative/path'))).toBe('ENOENT')
  })

  it('/xs_node/tx_resurrect2: a node removed and written again fires, its empty parents do not', () => {
    const { s, w, tx } = resurrectSetup()
    s.write(GUEST, tx, 'some/deep/dark/relative/path', 'something')
    s.transactionEnd(GUEST, tx, true)
    expect(s.nodeCount).toBe(11)
    expect(w.take().sort()).toEqual(['some/deep/dark/relative/pathwatch', 'some/deep/darkwatch'])
    expect(Buffer.from(s.read(GUEST, 0, 'some/deep/dark/relative/path')).toString()).toBe(
      'something',
    )
  })
})

describe('rules read from xenstore_impl.c', () => {
  it.each([
    // [perms, domid, read, write]  — can_access(): dom0 always; owner always; first letter is
    // everyone's default; a later entry for the domain overrides it.
    [[n(0)], 0, true, true],
    [[n(0)], 1, false, false],
    [[n(1)], 1, true, true],
    [[{ access: 'r', domid: 0 }], 2, true, false],
    [[{ access: 'b', domid: 0 }, n(2)], 2, false, false],
    [[n(0), { access: 'w', domid: 2 }], 2, false, true],
    [[n(0), r(2), { access: 'b', domid: 2 }], 2, true, true],
    [[n(0), r(3)], 2, false, false],
  ] as [XsPerm[], number, boolean, boolean][])(
    'can_access(%j) for dom%i: read %s write %s',
    (perms, domid, rd, wr) => {
      const s = new Xenstore()
      s.write(0, 0, '/x', 'v')
      s.setPerms(0, 0, '/x', perms)
      expect(errno(() => s.read(domid, 0, '/x')) === 0).toBe(rd)
      expect(errno(() => s.write(domid, 0, '/x', 'w')) === 0).toBe(wr)
    },
  )

  it('xs_node_set_perms(): owner only (EPERM), cannot give away (EPERM), at most 5 (ENOSPC)', () => {
    const s = setup()
    s.write(GUEST, 0, 'some/p', '')
    s.setPerms(QEMU, 0, '/local/domain/1/some/p', [n(QEMU), { access: 'b', domid: GUEST }])
    expect(errno(() => s.setPerms(GUEST, 0, 'some/p', [n(GUEST)]))).toBe('EPERM')
    s.write(GUEST, 0, 'some/q', '')
    expect(errno(() => s.setPerms(GUEST, 0, 'some/q', [n(2)]))).toBe('EPERM')
    expect(errno(() => s.setPerms(GUEST, 0, 'some/q', [n(1), r(2), r(3), r(4), r(5), r(6)]))).toBe(
      'ENOSPC',
    )
    expect(errno(() => s.setPerms(GUEST, 0, 'some/q', [n(1), r(2), r(3), r(4), r(5)]))).toBe(0)
  })

  it('xs_node_walk(): new nodes inherit the parent perms, checked for write on the parent', () => {
    const s = setup()
    s.setPerms(GUEST, 0, 'some', [n(GUEST), r(7)])
    s.write(GUEST, 0, 'some/a/b', 'x')
    expect(s.getPerms(0, 0, '/local/domain/1/some/a')).toEqual([n(GUEST), r(7)])
    expect(s.getPerms(0, 0, '/local/domain/1/some/a/b')).toEqual([n(GUEST), r(7)])
    expect(errno(() => s.write(GUEST, 0, 'newtop', 'x'))).toBe('EACCES')
  })

  it('fire_watches(): a parent watch sees the child path; a child watch ignores the parent', () => {
    const s = setup()
    const w = recorder()
    s.watch(GUEST, 'some', 'p', w.cb)
    s.watch(GUEST, 'some/a/b', 'c', w.cb)
    w.take()
    s.write(GUEST, 0, 'some/a', 'x')
    expect(w.take()).toEqual(['some/ap'])
    s.write(GUEST, 0, 'some/a/b/c', 'x')
    expect(w.take().sort()).toEqual(['some/a/b/cc', 'some/a/b/cp'])
  })

  it('validate_path(): characters, empty elements, lengths', () => {
    const s = setup()
    for (const p of ['', 'a b', 'a//b', 'a:b', 'ä'])
      expect(errno(() => s.read(GUEST, 0, p))).toBe('EINVAL')
    expect(errno(() => s.read(GUEST, 0, `/${'a'.repeat(3072)}`))).toBe('E2BIG')
    expect(errno(() => s.read(GUEST, 0, 'a'.repeat(2049)))).toBe('E2BIG')
    expect(errno(() => s.read(GUEST, 0, `/${'a'.repeat(3071)}`))).toBe('ENOENT')
  })

  it('XS_MAX_*: 10 transactions (ENOSPC), 128 watches (E2BIG), 2048-byte values (E2BIG), 1000 nodes', () => {
    const s = setup()
    for (let i = 0; i < 10; i++) s.transactionStart(GUEST)
    expect(errno(() => s.transactionStart(GUEST))).toBe('ENOSPC')
    expect(errno(() => s.transactionStart(QEMU))).toBe(0)
    for (let i = 0; i < 128; i++) s.watch(GUEST, 'some', `t${i}`, () => {})
    expect(errno(() => s.watch(GUEST, 'some', 'x', () => {}))).toBe('E2BIG')
    expect(errno(() => s.watch(GUEST, 'some', 't0', () => {}))).toBe('EEXIST')
    expect(errno(() => s.write(GUEST, 0, 'some/v', 'x'.repeat(2049)))).toBe('E2BIG')
    expect(errno(() => s.write(GUEST, 0, 'some/v', 'x'.repeat(2048)))).toBe(0)
    let i = 0
    while (errno(() => s.write(GUEST, 0, `some/n${i}`, '')) === 0) i++
    expect(errno(() => s.write(GUEST, 0, `some/n${i}`, ''))).toBe('ENOSPC')
    expect(s.nodeCount).toBe(1000)
    expect(errno(() => s.write(QEMU, 0, '/local/domain/1/some/host', ''))).toBe(0)
  })
})

describe('where this store follows xenstored rather than QEMU', () => {
  it('RM of a missing node whose parent exists is OK (xenstored do_rm(); QEMU: ENOENT)', () => {
    const s = setup()
    expect(errno(() => s.rm(GUEST, 0, 'some/missing'))).toBe(0)
    expect(errno(() => s.rm(GUEST, 0, 'some/missing/deeper'))).toBe('ENOENT')
  })

  it('a watch on / fires for every change (xenstored; QEMU never fires it after registration)', () => {
    const s = setup()
    const w = recorder()
    s.watch(QEMU, '/', 't', w.cb)
    w.take()
    s.write(GUEST, 0, 'some/x', '')
    expect(w.take()).toEqual(['/local/domain/1/some/xt'])
  })

  it('events only for nodes the watcher may read (xenstored; QEMU sends them all)', () => {
    const s = setup()
    const w = recorder()
    s.watch(GUEST, '/local', 't', w.cb)
    w.take()
    s.write(QEMU, 0, '/local/private', 'x')
    expect(w.fired).toEqual([])
  })

  it('RESET_WATCHES also ends the guest transactions (xenstored; QEMU keeps them)', () => {
    const s = setup()
    const tx = s.transactionStart(GUEST)
    s.resetWatches(GUEST)
    expect(errno(() => s.transactionEnd(GUEST, tx, true))).toBe('ENOENT')
  })

  it('a node made and removed inside one transaction fires nothing (QEMU fires it on commit)', () => {
    const s = setup()
    const w = recorder()
    s.watch(GUEST, 'some', 't', w.cb)
    w.take()
    const tx = s.transactionStart(GUEST)
    s.write(GUEST, tx, 'some/brief', 'x')
    s.rm(GUEST, tx, 'some/brief')
    s.transactionEnd(GUEST, tx, true)
    expect(w.fired).toEqual([])
  })

  it('a trailing slash is EINVAL (xenstored; QEMU would name an empty child)', () => {
    const s = setup()
    expect(errno(() => s.write(GUEST, 0, 'some/x/', ''))).toBe('EINVAL')
  })
})
