// The server end of one guest's xenstore ring: pulls requests out of the shared page, answers
// them from the store, and pushes replies and watch events back, one message at a time as QEMU's
// xen_xenstore_event() does. A guest that lies about the ring indexes or sends an over-long
// payload gets the `error` field set and is no longer served until it asks for a reconnection
// (docs/misc/xenstore-ring.txt); nothing it writes can make this throw or spin.

import { XenstoreError } from './errors.js'
import type { XenstoreQuotas } from './quota.js'
import { handleRequest } from './requests.js'
import {
  XENSTORE_CONNECTED,
  XENSTORE_INTERFACE,
  XENSTORE_RECONNECT,
  XENSTORE_SERVER_FEATURE_ERROR,
  XENSTORE_SERVER_FEATURE_RECONNECTION,
  XenstoreRing,
  XenstoreRingError,
} from './ring.js'
import {
  loadConnection,
  restoreStore,
  saveConnection,
  snapshotStore,
  type XenstoreServerSnapshot,
} from './snapshot.js'
import { Xenstore } from './store.js'
import {
  decodeHeader,
  encodeMessage,
  joinFields,
  XENSTORE_PAYLOAD_MAX,
  XS_HEADER_SIZE,
  XsType,
} from './wire.js'

/** Options of a server. */
export interface XenstoreServerOptions {
  /** The guest's domain id (1..0x7fef): relative paths are under `/local/domain/<domid>`. */
  readonly domid: number
  /** The shared ring page (`struct xenstore_domain_interface`), e.g. `ram.bytes(gpa, 4096)`. */
  readonly ring: Uint8Array
  /** Signals the guest (the store event channel). Called after any bytes moved either way. */
  readonly notify: () => void
  /** The store to serve; a new empty one by default. */
  readonly store?: Xenstore
  /**
   * Zero the indexes and advertise `server_features` (reconnection, error reporting), as a
   * toolstack does for a fresh domain. Default true; false when the page is already live.
   */
  readonly initialize?: boolean
  /** Requests handled per `process()` call before it yields (default 256). */
  readonly budget?: number
}

/** A reply or event partly written to the response ring. */
export interface XsPendingResponse {
  /** The whole encoded message. */
  readonly bytes: Uint8Array
  /** How many of its bytes are in the ring already. */
  readonly written: number
}

/** The connection state a snapshot carries besides the store. */
export interface XenstoreConnectionState {
  /** Bytes of the request read so far (header, then payload). */
  readonly request: Uint8Array
  /** The message being written to the response ring, and how much of it is written. */
  readonly response: XsPendingResponse | undefined
  /** Encoded watch events waiting for the response ring. */
  readonly events: readonly Uint8Array[]
  /** The ring was given up on (`error` set) until the guest reconnects. */
  readonly failed: boolean
  /** Watch events dropped because the queue was full or they did not fit a message. */
  readonly droppedEvents: number
}

/** Serves one guest domain's xenstore ring. */
export class XenstoreServer {
  /** The store behind the ring (the host reads, writes and watches it as domain 0). */
  readonly store: Xenstore
  /** The guest's domain id. */
  readonly domid: number
  /** The ring page accessor. */
  readonly ring: XenstoreRing
  private readonly notify: () => void
  private readonly budget: number
  private readonly request = new Uint8Array(XS_HEADER_SIZE + XENSTORE_PAYLOAD_MAX)
  private requestLength = 0
  private response: Uint8Array | undefined
  private responseWritten = 0
  private readonly events: Uint8Array[] = []
  private failed = false
  private busy = false
  private dropped = 0
  /** The guest's watch sink: events become queued XS_WATCH_EVENT messages. */
  readonly sink = (path: string, token: string): void => this.queueEvent(path, token)

  constructor(options: XenstoreServerOptions) {
    if (typeof options !== 'object' || options === null)
      throw new XenstoreError('EINVAL', 'server', 'options must be an object')
    const { domid, notify, budget = 256 } = options
    if (!Number.isSafeInteger(domid) || domid < 1 || domid > 0x7fef)
      throw new XenstoreError('EINVAL', 'server', `domid must be 1..0x7fef, got ${domid}`)
    if (typeof notify !== 'function')
      throw new XenstoreError('EINVAL', 'server', 'notify must be a function')
    if (!Number.isSafeInteger(budget) || budget < 1)
      throw new XenstoreError('EINVAL', 'server', `budget must be a positive integer`)
    if (options.store !== undefined && !(options.store instanceof Xenstore))
      throw new XenstoreError('EINVAL', 'server', 'store must be a Xenstore')
    this.domid = domid
    this.ring = new XenstoreRing(options.ring)
    this.notify = notify
    this.budget = budget
    this.store = options.store ?? new Xenstore()
    if (options.initialize !== false) {
      this.ring.resetIndexes()
      this.ring.store(
        XENSTORE_INTERFACE.serverFeatures,
        XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR,
      )
      this.ring.store(XENSTORE_INTERFACE.connection, XENSTORE_CONNECTED)
      this.ring.store(XENSTORE_INTERFACE.error, XenstoreRingError.NONE)
    }
  }

  /** Watch events dropped so far (queue full, or too long for one message). */
  get droppedEvents(): number {
    return this.dropped
  }

  /** Whether the server gave up on the ring (`error` set) and waits for a reconnection. */
  get ringFailed(): boolean {
    return this.failed
  }

  /**
   * Serves the ring: call it whenever the guest signals the event channel. Moves what it can,
   * notifies the guest if anything moved, and returns true if it stopped at its request budget
   * with more to do (call it again soon).
   */
  process(): boolean {
    if (this.busy) return false
    this.busy = true
    try {
      return this.pump()
    } finally {
      this.busy = false
    }
  }

  /** Saves the store and the connection (JSON-able). Host watches are not saved. */
  snapshot(): XenstoreServerSnapshot {
    return {
      version: 1,
      domid: this.domid,
      store: snapshotStore(this.store),
      connection: saveConnection(this.connectionState()),
    }
  }

  /**
   * A server rebuilt from `snapshot()` output on the same (restored) ring page. The page is left
   * as it is. Throws XenstoreError EINVAL for a malformed snapshot.
   */
  static restore(
    snap: unknown,
    options: Omit<XenstoreServerOptions, 'domid' | 'store' | 'initialize'> & {
      readonly quotas?: Partial<XenstoreQuotas>
    },
  ): XenstoreServer {
    const s = snap as XenstoreServerSnapshot
    if (typeof s !== 'object' || s === null || s.version !== 1)
      throw new XenstoreError('EINVAL', 'restore', 'not a version 1 xenstore server snapshot')
    const connection = loadConnection(s.connection)
    const holder: { server?: XenstoreServer } = {}
    const sink = (path: string, token: string) => holder.server?.sink(path, token)
    const store = restoreStore(s.store, (d) => (d === s.domid ? sink : undefined), options)
    if (connection.events.length > store.quotas.maxPendingEvents)
      throw new XenstoreError('EINVAL', 'restore', 'more queued events than the quota')
    const server = new XenstoreServer({ ...options, domid: s.domid, store, initialize: false })
    server.restoreConnectionState(connection)
    holder.server = server
    return server
  }

  /** The connection state, for a snapshot (the ring page itself is guest memory). */
  connectionState(): XenstoreConnectionState {
    return {
      request: this.request.slice(0, this.requestLength),
      response:
        this.response === undefined
          ? undefined
          : { bytes: this.response.slice(), written: this.responseWritten },
      events: this.events.map((e) => e.slice()),
      failed: this.failed,
      droppedEvents: this.dropped,
    }
  }

  /** Puts back connection state taken by `connectionState()` (already validated). @internal */
  restoreConnectionState(s: XenstoreConnectionState): void {
    this.request.set(s.request)
    this.requestLength = s.request.length
    this.response = s.response?.bytes.slice()
    this.responseWritten = s.response?.written ?? 0
    this.events.length = 0
    this.events.push(...s.events.map((e) => e.slice()))
    this.failed = s.failed
    this.dropped = s.droppedEvents
  }

  private pump(): boolean {
    let moved = false
    if (this.ring.load(XENSTORE_INTERFACE.connection) === XENSTORE_RECONNECT) {
      this.reconnect()
      moved = true
    }
    let handled = 0
    let more = false
    while (!this.failed) {
      let progress = false
      if (this.response === undefined && this.events.length > 0) {
        this.response = this.events.shift()
        this.responseWritten = 0
      }
      if (this.response !== undefined) {
        const n = this.ring.copyToRsp(this.response.subarray(this.responseWritten))
        if (n < 0) {
          this.fail(XenstoreRingError.RINGIDX)
          break
        }
        this.responseWritten += n
        if (this.responseWritten === this.response.length) this.response = undefined
        if (n > 0) progress = moved = true
      }
      const want = this.wanted()
      if (want > 0) {
        const n = this.ring.copyFromReq(this.request, this.requestLength, want)
        if (n < 0) {
          this.fail(XenstoreRingError.RINGIDX)
          break
        }
        this.requestLength += n
        if (n > 0) progress = moved = true
        if (this.wanted() < 0) {
          this.fail(XenstoreRingError.PROTO)
          break
        }
      }
      if (this.wanted() === 0 && this.response === undefined && this.events.length === 0) {
        if (handled === this.budget) {
          more = true
          break
        }
        this.handle()
        handled++
        progress = true
      }
      if (!progress) break
    }
    if (moved) this.notify()
    return more
  }

  /** Request bytes still missing: header first, then the payload; -1 for an illegal length. */
  private wanted(): number {
    if (this.requestLength < XS_HEADER_SIZE) return XS_HEADER_SIZE - this.requestLength
    const len = decodeHeader(this.request).len
    if (len > XENSTORE_PAYLOAD_MAX) return -1
    return XS_HEADER_SIZE + len - this.requestLength
  }

  private handle(): void {
    const header = decodeHeader(this.request)
    const payload = this.request.subarray(XS_HEADER_SIZE, XS_HEADER_SIZE + header.len)
    this.requestLength = 0
    this.response = handleRequest(this.store, this.domid, header, payload, this.sink)
    this.responseWritten = 0
  }

  private queueEvent(path: string, token: string): void {
    const payload = joinFields([path, token])
    if (
      payload.length > XENSTORE_PAYLOAD_MAX ||
      this.events.length >= this.store.quotas.maxPendingEvents
    ) {
      // QEMU drops an event that cannot fit; xenstored drops past its event quota.
      this.dropped++
      return
    }
    this.events.push(encodeMessage(XsType.WATCH_EVENT, 0, 0, payload))
    // A host-side change outside process(): deliver now, as QEMU's fire_watch_cb() does.
    if (!this.busy) this.process()
  }

  private fail(error: number): void {
    this.failed = true
    this.ring.store(XENSTORE_INTERFACE.error, error)
  }

  /**
   * The guest asked for a reset (connection = XENSTORE_RECONNECT): drop its watches,
   * transactions and everything in flight, zero the indexes, clear the error, and say CONNECTED.
   */
  private reconnect(): void {
    this.store.resetWatches(this.domid)
    this.requestLength = 0
    this.response = undefined
    this.responseWritten = 0
    this.events.length = 0
    this.failed = false
    this.ring.resetIndexes()
    this.ring.store(XENSTORE_INTERFACE.error, XenstoreRingError.NONE)
    this.ring.store(XENSTORE_INTERFACE.connection, XENSTORE_CONNECTED)
  }
}
