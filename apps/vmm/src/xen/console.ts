// The PV console backend (xenconsoled's job; QEMU 10's hw/char/xen_console.c): the guest's hvc0
// (Linux's drivers/tty/hvc/hvc_xen.c) writes into the out ring of struct xencons_interface on the
// console page (HVM_PARAM_CONSOLE_PFN) and kicks the console port (HVM_PARAM_CONSOLE_EVTCHN);
// this drains the ring to the VMM's output and notifies back, and puts input into the in ring.
// The indexes live in guest memory and the guest can write anything there: a producer more than
// a ring ahead of the consumer is refused as QEMU's buffer_append does (nothing is read, and the
// error is counted), and every byte offset is masked into its ring, so no index reaches outside
// the page. The guest's own hvc_xen BUG()s on such indexes, so only a hostile guest sets them.
import type { GuestMemory } from '@tsvmm/guest-memory'
import type { KvmEvtchn } from '@tsvmm/xen-evtchn/kvm'
import { openPvPort, type PvPort } from './pv-port.js'

/** Offsets and sizes of struct xencons_interface (xen/include/public/io/console.h). */
export const XENCONS = {
  in: 0,
  inSize: 1024,
  out: 1024,
  outSize: 2048,
  inCons: 3072,
  inProd: 3076,
  outCons: 3080,
  outProd: 3084,
} as const

/** Where the console page is and where its output goes. */
export interface XenConsoleOptions {
  readonly memory: GuestMemory
  /** The console page (page-aligned, in RAM, reserved in the e820 map). */
  readonly gpa: number
  readonly evtchn: KvmEvtchn
  /** The bytes the guest wrote, in order. */
  readonly output: (bytes: Uint8Array) => void
}

/**
 * Where the guest's console input comes from (the terminal `tsvmm run` reads): the domain attaches
 * its console at start, asks for a retry on every backend poll (the guest may have read since),
 * and detaches when it is disposed.
 */
export interface ConsoleInputSource {
  attach(console: { input(bytes: Uint8Array): number }): void
  retry(): void
  detach(): void
}

/** One guest's PV console. */
export class XenConsoleBackend {
  readonly #memory: GuestMemory
  readonly #gpa: number
  readonly #port: PvPort
  readonly #output: (bytes: Uint8Array) => void
  #closed = false
  /** Bytes the guest wrote. */
  bytesOut = 0
  /** Times the guest's indexes were impossible (producer more than a ring ahead). */
  badIndexes = 0

  constructor(o: XenConsoleOptions) {
    if (!o.memory.contains(o.gpa, 4096) || o.gpa % 4096 !== 0)
      throw new RangeError(`the console page 0x${o.gpa.toString(16)} is not a page of RAM`)
    this.#memory = o.memory
    this.#gpa = o.gpa
    this.#output = o.output
    // A fresh ring: all indexes 0 (the page may have held anything before).
    o.memory.fill(o.gpa, 4096, 0)
    this.#port = openPvPort(o.evtchn, () => this.drain())
  }

  /** The guest's console port. */
  get port(): number {
    return this.#port.port
  }

  /** Takes what the guest wrote to the out ring; returns the byte count. Never throws. */
  drain(): number {
    if (this.#closed) return 0
    const m = this.#memory
    const base = this.#gpa
    const cons = m.atomicLoad32(base + XENCONS.outCons) >>> 0
    const prod = m.atomicLoad32(base + XENCONS.outProd) >>> 0
    const size = (prod - cons) >>> 0
    if (size === 0) return 0
    if (size > XENCONS.outSize) {
      this.badIndexes++
      return 0
    }
    const bytes = new Uint8Array(size)
    const start = cons % XENCONS.outSize
    const first = Math.min(size, XENCONS.outSize - start)
    bytes.set(m.read(base + XENCONS.out + start, first), 0)
    if (first < size) bytes.set(m.read(base + XENCONS.out, size - first), first)
    m.atomicStore32(base + XENCONS.outCons, (cons + size) >>> 0)
    this.bytesOut += size
    this.#port.notify()
    this.#output(bytes)
    return size
  }

  /** Puts `bytes` into the in ring as far as there is room; returns how many went in. */
  input(bytes: Uint8Array): number {
    if (this.#closed) return 0
    const m = this.#memory
    const base = this.#gpa
    const cons = m.atomicLoad32(base + XENCONS.inCons) >>> 0
    let prod = m.atomicLoad32(base + XENCONS.inProd) >>> 0
    const used = (prod - cons) >>> 0
    if (used > XENCONS.inSize) {
      this.badIndexes++
      return 0
    }
    const n = Math.min(bytes.length, XENCONS.inSize - used)
    for (let i = 0; i < n; i++) {
      m.writeU8(base + XENCONS.in + (prod % XENCONS.inSize), bytes[i] as number)
      prod = (prod + 1) >>> 0
    }
    if (n === 0) return 0
    // The bytes before the index, as the guest's rmb() expects.
    m.atomicStore32(base + XENCONS.inProd, prod)
    this.#port.notify()
    return n
  }

  /** Stops serving and unbinds the port. */
  close(): void {
    if (this.#closed) return
    this.drain()
    this.#closed = true
    this.#port.close()
  }
}
