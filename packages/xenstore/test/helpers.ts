// A fake guest xenbus driving a XenstoreServer through a real ring page, as Linux's
// drivers/xen/xenbus/xenbus_comms.c does: requests into req[], replies and events out of rsp[].
import {
  decodeHeader,
  XENSTORE_INTERFACE as I,
  joinFields,
  XENSTORE_RING_SIZE,
  XenstoreServer,
  type XenstoreServerOptions,
  XS_HEADER_SIZE,
  XsType,
  type XsTypeName,
} from '../src/index.js'

export interface Msg {
  type: number
  reqId: number
  txId: number
  payload: Uint8Array
}

const dv = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset, p.byteLength)
export const u32 = (p: Uint8Array, off: number) => dv(p).getUint32(off, true)
export const setU32 = (p: Uint8Array, off: number, v: number) => dv(p).setUint32(off, v >>> 0, true)

/** The NUL-separated strings of a payload (a trailing NUL ends the last one). */
export function strings(payload: Uint8Array): string[] {
  const s = Buffer.from(payload).toString('latin1')
  const parts = s.split('\0')
  if (parts[parts.length - 1] === '') parts.pop()
  return parts
}

export function header(type: number, reqId: number, txId: number, len: number): Uint8Array {
  const h = new Uint8Array(XS_HEADER_SIZE)
  setU32(h, 0, type)
  setU32(h, 4, reqId)
  setU32(h, 8, txId)
  setU32(h, 12, len)
  return h
}

export class FakeGuest {
  readonly page = new Uint8Array(4096)
  readonly server: XenstoreServer
  notifications = 0
  private nextReq = 1
  private rx: number[] = []
  /** Watch events received, in order, as [path, token]. */
  readonly events: [string, string][] = []

  constructor(options: Partial<XenstoreServerOptions> = {}) {
    this.server = new XenstoreServer({
      domid: 1,
      ring: this.page,
      notify: () => this.notifications++,
      ...options,
    })
  }

  /** Puts raw bytes into the request ring (in pieces if needed), kicking the server. */
  push(bytes: Uint8Array): void {
    let at = 0
    let stalls = 0
    while (at < bytes.length) {
      const prod = u32(this.page, I.reqProd)
      const cons = u32(this.page, I.reqCons)
      const space = XENSTORE_RING_SIZE - ((prod - cons) >>> 0)
      const n = Math.min(space, bytes.length - at)
      for (let i = 0; i < n; i++) this.page[I.req + ((prod + i) & 1023)] = bytes[at + i] as number
      setU32(this.page, I.reqProd, prod + n)
      at += n
      this.server.process()
      this.drain()
      stalls = n === 0 ? stalls + 1 : 0
      if (stalls > 3) throw new Error('request ring stuck')
    }
  }

  /** Reads everything in the response ring into the receive buffer. */
  drain(): void {
    for (;;) {
      const prod = u32(this.page, I.rspProd)
      const cons = u32(this.page, I.rspCons)
      if (prod === cons) return
      for (let i = cons; i !== prod; i = (i + 1) >>> 0)
        this.rx.push(this.page[I.rsp + (i & 1023)] as number)
      setU32(this.page, I.rspCons, prod)
      this.server.process()
    }
  }

  /** Complete messages received so far (watch events go to `events`, others returned). */
  messages(): Msg[] {
    const out: Msg[] = []
    let at = 0
    while (this.rx.length - at >= XS_HEADER_SIZE) {
      const h = decodeHeader(Uint8Array.from(this.rx.slice(at, at + XS_HEADER_SIZE)))
      if (this.rx.length - at < XS_HEADER_SIZE + h.len) break
      const payload = Uint8Array.from(
        this.rx.slice(at + XS_HEADER_SIZE, at + XS_HEADER_SIZE + h.len),
      )
      at += XS_HEADER_SIZE + h.len
      if (h.type === XsType.WATCH_EVENT) this.events.push(strings(payload) as [string, string])
      else out.push({ type: h.type, reqId: h.reqId, txId: h.txId, payload })
    }
    this.rx = this.rx.slice(at)
    return out
  }

  /** Sends one request and returns its reply. */
  raw(type: number, payload: Uint8Array, txId = 0): Msg {
    const reqId = this.nextReq++
    const msg = new Uint8Array(XS_HEADER_SIZE + payload.length)
    msg.set(header(type, reqId, txId, payload.length))
    msg.set(payload, XS_HEADER_SIZE)
    this.push(msg)
    this.drain()
    const replies = this.messages()
    if (replies.length !== 1) throw new Error(`expected one reply, got ${replies.length}`)
    const r = replies[0] as Msg
    if (r.reqId !== reqId) throw new Error(`reply to ${r.reqId}, expected ${reqId}`)
    return r
  }

  /** Sends a request made of NUL-terminated fields; returns [typeName, strings]. */
  req(type: XsTypeName, fields: string[], txId = 0): [string, string[]] {
    const r = this.raw(XsType[type], joinFields(fields), txId)
    const name = Object.entries(XsType).find(([, v]) => v === r.type)?.[0] ?? String(r.type)
    return [name, strings(r.payload)]
  }

  /** The errno name of an XS_ERROR reply, or 'OK' / the reply strings joined. */
  do(type: XsTypeName, fields: string[], txId = 0): string {
    const [name, s] = this.req(type, fields, txId)
    return name === 'ERROR' ? (s[0] as string) : s.join('|')
  }

  takeEvents(): [string, string][] {
    this.drain()
    this.messages()
    return this.events.splice(0)
  }
}

/** A guest home populated as QEMU's xen_xenstore_realize() does (owner 0, guest may read). */
export function populate(g: FakeGuest): void {
  const s = g.server.store
  const home = '/local/domain/1'
  s.write(0, 0, home, '')
  s.setPerms(0, 0, home, [
    { access: 'n', domid: 0 },
    { access: 'r', domid: 1 },
  ])
  for (const n of ['data', 'device', 'control', 'attr']) {
    s.write(0, 0, `${home}/${n}`, '')
    s.setPerms(0, 0, `${home}/${n}`, [{ access: 'n', domid: 1 }])
  }
  s.write(0, 0, `${home}/domid`, '1')
  s.setPerms(0, 0, `${home}/domid`, [
    { access: 'n', domid: 0 },
    { access: 'r', domid: 1 },
  ])
}
