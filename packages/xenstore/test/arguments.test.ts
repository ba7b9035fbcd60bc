// Every public function given a bad argument throws XenstoreError EINVAL (errno -22) naming the
// operation: never a TypeError from inside, never a silent wrong answer.
import { describe, expect, it } from 'vitest'
import {
  canAccess,
  decodeHeader,
  domainPath,
  encodeMessage,
  errorReply,
  formatPerm,
  handleRequest,
  joinFields,
  parsePerm,
  resolvePath,
  resolveQuotas,
  resolveWatchPath,
  restoreStore,
  snapshotStore,
  splitFields,
  Xenstore,
  XenstoreError,
  XenstoreRing,
} from '../src/index.js'

const s = new Xenstore()
const h = { type: 2, reqId: 1, txId: 0, len: 0 }
const calls: [string, () => unknown][] = [
  ['read with a string domid', () => s.read('1' as never, 0, '/x')],
  ['read with a negative txId', () => s.read(0, -1, '/x')],
  ['read with a number path', () => s.read(0, 0, 5 as never)],
  ['write with an object value', () => s.write(0, 0, '/x', {} as never)],
  ['mkdir with domid 70000', () => s.mkdir(70000, 0, '/x')],
  ['rm with a fractional txId', () => s.rm(0, 0.5, '/x')],
  ['directory with a null path', () => s.directory(0, 0, null as never)],
  ['setPerms with no perms', () => s.setPerms(0, 0, '/', [])],
  ['setPerms with a bad letter', () => s.setPerms(0, 0, '/', [{ access: 'q' as never, domid: 0 }])],
  ['watch with a number token', () => s.watch(0, '/', 1 as never, () => {})],
  ['watch with no sink', () => s.watch(0, '/', 't', undefined as never)],
  ['unwatch with a bad domid', () => s.unwatch(-1, '/', 't')],
  ['transactionEnd with a string commit', () => s.transactionEnd(0, 1, 'T' as never)],
  ['transactionStart with NaN', () => s.transactionStart(Number.NaN)],
  ['new Xenstore with a bad quota', () => new Xenstore({ quotas: { maxNodes: 0 } })],
  ['resolveQuotas with an unknown key', () => resolveQuotas({ bogus: 1 } as never)],
  ['decodeHeader of 3 bytes', () => decodeHeader(new Uint8Array(3))],
  ['encodeMessage of a 5000-byte payload', () => encodeMessage(2, 0, 0, new Uint8Array(5000))],
  ['encodeMessage with a negative type', () => encodeMessage(-2, 0, 0, new Uint8Array(0))],
  ['splitFields of a string', () => splitFields('ab' as never, 1)],
  ['joinFields of numbers', () => joinFields([1] as never)],
  ['parsePerm of a number', () => parsePerm(3 as never)],
  ['formatPerm of junk', () => formatPerm({ access: 'z', domid: 1 } as never)],
  ['canAccess with no perms', () => canAccess(1, [], 'read')],
  ['canAccess with a bad want', () => canAccess(1, [{ access: 'n', domid: 0 }], 'rw' as never)],
  ['resolvePath with a bad domid', () => resolvePath('a', -3)],
  ['resolveWatchPath of a number', () => resolveWatchPath(7 as never, 1)],
  ['domainPath of a string', () => domainPath('1' as never)],
  ['errorReply with a made-up errno', () => errorReply(h, 'EWHAT' as never)],
  [
    'handleRequest with no store',
    () => handleRequest({} as never, 1, h, new Uint8Array(1), () => {}),
  ],
  [
    'handleRequest with a bad header',
    () => handleRequest(s, 1, { ...h, reqId: -1 }, new Uint8Array(1), () => {}),
  ],
  ['snapshotStore of junk', () => snapshotStore({} as never)],
  ['restoreStore without sinkFor', () => restoreStore(snapshotStore(s), 3 as never)],
  ['XenstoreRing over 100 bytes', () => new XenstoreRing(new Uint8Array(100))],
]

describe('bad arguments', () => {
  it.each(calls)('%s is XenstoreError EINVAL', (_, call) => {
    let err: unknown
    try {
      call()
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(XenstoreError)
    expect(
      (err as XenstoreError).code === 'EINVAL' || (err as XenstoreError).code === 'E2BIG',
    ).toBe(true)
    expect((err as XenstoreError).errno).toBeLessThan(0)
  })
})
