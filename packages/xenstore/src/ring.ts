// struct xenstore_domain_interface (Xen io/xs_wire.h): the shared page between the guest's
// xenbus and the xenstore server. Two byte rings with free-running u32 indexes; the guest
// produces requests and consumes responses, the server the other way round. The guest can write
// any of it at any time, so every index read here is checked before it is used.

import { XenstoreError } from './errors.js'

/** `XENSTORE_RING_SIZE`: bytes in each of the two rings. */
export const XENSTORE_RING_SIZE = 1024

/** Byte offsets of `struct xenstore_domain_interface`'s fields (checked against gcc in tests). */
export const XENSTORE_INTERFACE = {
  /** `char req[XENSTORE_RING_SIZE]`: guest to server. */
  req: 0,
  /** `char rsp[XENSTORE_RING_SIZE]`: server to guest (replies and watch events). */
  rsp: 1024,
  /** `XENSTORE_RING_IDX req_cons`: written by the server. */
  reqCons: 2048,
  /** `XENSTORE_RING_IDX req_prod`: written by the guest. */
  reqProd: 2052,
  /** `XENSTORE_RING_IDX rsp_cons`: written by the guest. */
  rspCons: 2056,
  /** `XENSTORE_RING_IDX rsp_prod`: written by the server. */
  rspProd: 2060,
  /** `uint32_t server_features`: `XENSTORE_SERVER_FEATURE_*` bits. */
  serverFeatures: 2064,
  /** `uint32_t connection`: `XENSTORE_CONNECTED` or `XENSTORE_RECONNECT`. */
  connection: 2068,
  /** `uint32_t error`: `XENSTORE_ERROR_*`, set by the server when it gives up on the ring. */
  error: 2072,
  /** `sizeof(struct xenstore_domain_interface)`. */
  size: 2076,
} as const

/** `XENSTORE_SERVER_FEATURE_RECONNECTION`: the guest may ask for a ring reset. */
export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1
/** `XENSTORE_SERVER_FEATURE_ERROR`: the server reports ring errors in the `error` field. */
export const XENSTORE_SERVER_FEATURE_ERROR = 2
/** `XENSTORE_CONNECTED`: the steady state of `connection`. */
export const XENSTORE_CONNECTED = 0
/** `XENSTORE_RECONNECT`: the guest asks for a reset; the server sets CONNECTED when done. */
export const XENSTORE_RECONNECT = 1

/** `XENSTORE_ERROR_*`: why the server stopped serving the ring. */
export const XenstoreRingError = {
  /** `XENSTORE_ERROR_NONE`. */
  NONE: 0,
  /** `XENSTORE_ERROR_COMM`: a communication problem. */
  COMM: 1,
  /** `XENSTORE_ERROR_RINGIDX`: producer and consumer more than a ring apart. */
  RINGIDX: 2,
  /** `XENSTORE_ERROR_PROTO`: a protocol violation (a payload over `XENSTORE_PAYLOAD_MAX`). */
  PROTO: 3,
} as const

const U32 = (x: number) => x >>> 0
const L = (offset: number) => offset >>> 2

/**
 * The server's side of the ring page. `copyFromReq`/`copyToRsp` move bytes and publish the new
 * index, or return `-1` when the indexes the guest left are impossible (more than a ring apart).
 */
export class XenstoreRing {
  /** The page as 32-bit lanes, for atomic index access (a barrier, as xenstored's smp_mb). */
  private readonly lanes: Int32Array

  constructor(
    /** The ring page (at least `XENSTORE_INTERFACE.size` bytes, 4-byte aligned). */
    readonly page: Uint8Array,
  ) {
    if (!(page instanceof Uint8Array) || page.length < XENSTORE_INTERFACE.size)
      throw new XenstoreError(
        'EINVAL',
        'ring',
        `the ring page must be a Uint8Array of at least ${XENSTORE_INTERFACE.size} bytes`,
      )
    if (page.byteOffset % 4 !== 0)
      throw new XenstoreError('EINVAL', 'ring', 'the ring page must be 4-byte aligned')
    this.lanes = new Int32Array(page.buffer, page.byteOffset, XENSTORE_INTERFACE.size >>> 2)
  }

  /** Reads a u32 field of the interface (a `XENSTORE_INTERFACE` offset). */
  load(offset: number): number {
    return U32(Atomics.load(this.lanes, L(offset)))
  }

  /** Writes a u32 field of the interface. */
  store(offset: number, value: number): void {
    Atomics.store(this.lanes, L(offset), value | 0)
  }

  /** Bytes the guest has produced and the server not yet consumed, or -1 if the indexes lie. */
  requestBytes(): number {
    const avail = U32(this.load(XENSTORE_INTERFACE.reqProd) - this.load(XENSTORE_INTERFACE.reqCons))
    return avail > XENSTORE_RING_SIZE ? -1 : avail
  }

  /**
   * Copies up to `len` request bytes into `dst` at `at` and advances `req_cons`. Returns the
   * number copied, or -1 if the indexes are more than a ring apart (nothing is copied then).
   */
  copyFromReq(dst: Uint8Array, at: number, len: number): number {
    const prod = this.load(XENSTORE_INTERFACE.reqProd)
    let cons = this.load(XENSTORE_INTERFACE.reqCons)
    const avail = U32(prod - cons)
    if (avail > XENSTORE_RING_SIZE) return -1
    let want = Math.min(len, avail)
    const total = want
    while (want > 0) {
      const offset = cons & (XENSTORE_RING_SIZE - 1)
      const n = Math.min(want, XENSTORE_RING_SIZE - offset)
      dst.set(this.page.subarray(offset, offset + n), at)
      at += n
      want -= n
      cons = U32(cons + n)
    }
    if (total > 0) this.store(XENSTORE_INTERFACE.reqCons, cons)
    return total
  }

  /**
   * Copies as much of `src` as fits into the response ring and advances `rsp_prod`. Returns the
   * number copied, or -1 if the indexes are more than a ring apart.
   */
  copyToRsp(src: Uint8Array): number {
    const cons = this.load(XENSTORE_INTERFACE.rspCons)
    let prod = this.load(XENSTORE_INTERFACE.rspProd)
    const used = U32(prod - cons)
    if (used > XENSTORE_RING_SIZE) return -1
    let want = Math.min(src.length, XENSTORE_RING_SIZE - used)
    const total = want
    let from = 0
    while (want > 0) {
      const offset = prod & (XENSTORE_RING_SIZE - 1)
      const n = Math.min(want, XENSTORE_RING_SIZE - offset)
      this.page.set(src.subarray(from, from + n), XENSTORE_INTERFACE.rsp + offset)
      from += n
      want -= n
      prod = U32(prod + n)
    }
    if (total > 0) this.store(XENSTORE_INTERFACE.rspProd, prod)
    return total
  }

  /** Zeroes the four indexes: the ring reset of a reconnection. */
  resetIndexes(): void {
    this.store(XENSTORE_INTERFACE.reqCons, 0)
    this.store(XENSTORE_INTERFACE.reqProd, 0)
    this.store(XENSTORE_INTERFACE.rspCons, 0)
    this.store(XENSTORE_INTERFACE.rspProd, 0)
  }
}
