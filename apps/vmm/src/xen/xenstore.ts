// The VMM's xenstored for its one guest: @tsvmm/xenstore's server on the store page
// (HVM_PARAM_STORE_PFN), kicked by the guest's sends on the store port (HVM_PARAM_STORE_EVTCHN)
// and notifying it back on the same port, as QEMU 10's hw/i386/kvm/xen_xenstore.c does. The
// store is filled as a toolstack would before the guest runs (toolstack.ts); the VMM asks for a
// clean shutdown by writing control/shutdown, which Linux's xenbus shutdown watcher acts on.
import type { GuestMemory } from '@tsvmm/guest-memory'
import type { KvmEvtchn } from '@tsvmm/xen-evtchn/kvm'
import { XenstoreServer } from '@tsvmm/xenstore'
import { openPvPort, type PvPort } from './pv-port.js'
import { type DomainRecord, introduceDomain } from './toolstack.js'

/** What control/shutdown takes (drivers/xen/manage.c shutdown_handlers). */
export type ShutdownRequest = 'poweroff' | 'reboot' | 'halt'

/** Where the store lives and who it serves. */
export interface XenstoreBackendOptions {
  readonly memory: GuestMemory
  /** The store page (page-aligned, in RAM, reserved in the e820 map). */
  readonly gpa: number
  readonly evtchn: KvmEvtchn
  readonly domain: DomainRecord
  /** A failure inside tsvmm while serving the ring (reported when the VM stops). */
  readonly onError: (message: string) => void
}

/** One guest's xenstore: the ring server and its event channel. */
export class XenstoreBackend {
  readonly server: XenstoreServer
  readonly #port: PvPort
  readonly #home: string
  readonly #onError: (message: string) => void
  #again: ReturnType<typeof setImmediate> | undefined
  #closed = false
  /** How many times the guest kicked the store port. */
  kicks = 0

  constructor(o: XenstoreBackendOptions) {
    this.#onError = o.onError
    if (!o.memory.contains(o.gpa, 4096) || o.gpa % 4096 !== 0)
      throw new RangeError(`the xenstore page 0x${o.gpa.toString(16)} is not a page of RAM`)
    this.#port = openPvPort(o.evtchn, () => {
      this.kicks++
      this.#serve()
    })
    this.server = new XenstoreServer({
      domid: o.domain.domid,
      ring: o.memory.bytes(o.gpa, 4096),
      notify: () => this.#port.notify(),
    })
    this.#home = introduceDomain(this.server.store, o.domain)
  }

  /** The guest's store port. */
  get port(): number {
    return this.#port.port
  }

  /**
   * Asks the guest to shut down as `xl shutdown` does: control/shutdown = `request`. Its watch
   * event goes out at once; a guest without xenbus ignores it.
   */
  requestShutdown(request: ShutdownRequest): void {
    try {
      this.server.store.write(0, 0, `${this.#home}/control/shutdown`, request)
    } catch (e) {
      this.#onError(`xenstore: writing control/shutdown: ${String(e)}`)
    }
    this.#serve()
  }

  /** The value of a node of the guest's home (e.g. `control/feature-poweroff`), or undefined. */
  read(relative: string): string | undefined {
    try {
      return new TextDecoder().decode(this.server.store.read(0, 0, `${this.#home}/${relative}`))
    } catch {
      return undefined
    }
  }

  // Serves what the guest queued; a guest that keeps the server at its budget is served again
  // on the next turn of the event loop, so it cannot starve the vCPU threads' messages.
  #serve(): void {
    if (this.#closed) return
    let more = false
    try {
      more = this.server.process()
    } catch (e) {
      this.#onError(`xenstore: ${String(e)}`)
    }
    if (more && this.#again === undefined)
      this.#again = setImmediate(() => {
        this.#again = undefined
        this.#serve()
      })
  }

  /** Stops serving and unbinds the port. */
  close(): void {
    this.#closed = true
    if (this.#again !== undefined) clearImmediate(this.#again)
    this.#port.close()
  }
}
