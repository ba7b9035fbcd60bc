// The Xen side of one guest domain: the event channel engine (@tsvmm/xen-evtchn), its delivery
// (events.ts), the hypercall dispatch (hypercalls.ts), the test backend (backend.ts) and, for a
// guest with PV devices, its xenstore (xenstore.ts), console (console.ts) and grant table
// (grant-table.ts), wired together. The machine hands it
// hypercalls and backend requests from the vCPU threads.
import type { GuestMemory } from '@tsvmm/guest-memory'
import type { Vm } from '@tsvmm/kvm-sys'
import { type EvtchnClock, EvtchnEngine } from '@tsvmm/xen-evtchn'
import type { BackendRequest } from '../devices/guest-protocol.js'
import type { VcpuOps } from '../vcpu/threads.js'
import { type BackendReply, DeviceBackend } from './backend.js'
import { type ConsoleInputSource, XenConsoleBackend } from './console.js'
import { domainHandle } from './domain-handle.js'
import { type ActiveDelivery, XenEvents } from './events.js'
import { GrantTable } from './grant-table.js'
import { HVM_PARAM_PV } from './hvm-params.js'
import { type HypercallContext, type HypercallExit, XenPlatform } from './hypercalls.js'
import { type ShutdownRequest, XenstoreBackend } from './xenstore.js'

/** The PV devices a toolstack gives the domain: the pages reserved for their rings, and who it is. */
export interface XenPvDevices {
  /** The xenstore ring page (HVM_PARAM_STORE_PFN). */
  readonly storeGpa: number
  /** The console ring page (HVM_PARAM_CONSOLE_PFN). */
  readonly consoleGpa: number
  /** Grant frame 0's page; the frames follow it (grant-table.ts). */
  readonly grantTableGpa: number
  /** How many grant frames there are pages for (GNTTABOP_query_size's max_nr_frames). */
  readonly grantFrames: number
  /** Where the guest's PV console output goes. */
  readonly consoleOutput: (bytes: Uint8Array) => void
  /** Where its input comes from (a terminal), if anywhere. */
  readonly consoleInput?: ConsoleInputSource
  readonly name: string
  readonly memoryKiB: number
}

/** What a domain is made of. */
export interface XenDomainOptions {
  readonly vm: Vm
  readonly vcpus: VcpuOps
  readonly memory: GuestMemory
  readonly delivery: ActiveDelivery
  readonly domid: number
  /** Xen version presented: major << 16 | minor. */
  readonly xenVersion: number
  readonly longMode: boolean
  /** false: KVM has no Xen HVM set-up (a guest that never uses Xen). */
  readonly xen: boolean
  readonly clock: EvtchnClock
  /** The VM has the full in-kernel irqchip (a Linux guest): keep its legacy GSI routes. */
  readonly irqchip?: 'split' | 'kernel'
  /** KVM keeps runstate areas (KVM_XEN_HVM_CONFIG_RUNSTATE). */
  readonly kvmRunstate?: boolean
  /** The domain's uuid (XENVER_guest_handle, /vm/<uuid>). */
  readonly uuid?: string
  /** Serve xenstore (and the PV console) on these pages; absent: no PV devices. */
  readonly pv?: XenPvDevices
  /** SCHEDOP_shutdown from `vcpu`. */
  shutdown(reason: number, vcpu: number): void
  log(level: 'warn' | 'debug', message: string): void
  /** An exception inside a hypercall handler: a tsvmm bug, to be counted and reported. */
  bug(message: string): void
}

/** One guest domain's Xen emulation. */
export class XenDomain {
  readonly #events: XenEvents
  readonly #engine: EvtchnEngine
  readonly #platform: XenPlatform
  readonly #backend: DeviceBackend
  readonly #xenstore: XenstoreBackend | undefined
  readonly #console: XenConsoleBackend | undefined
  readonly #consoleInput: ConsoleInputSource | undefined

  constructor(o: XenDomainOptions) {
    const clock = o.clock
    this.#events = new XenEvents(o.vm, o.vcpus, o.memory, o.delivery, o.xen, {
      kvmRunstate: o.kvmRunstate ?? false,
      longMode: o.longMode,
      irqchip: o.irqchip ?? 'split',
      // The wall time at Xen system time 0: now minus the guest's pvclock time.
      bootWallClockNs: () => BigInt(Date.now()) * 1_000_000n - BigInt(Math.round(clock.now())),
    })
    this.#engine = new EvtchnEngine({
      memory: o.memory,
      vcpus: o.vcpus.count,
      longMode: o.longMode,
      notify: (v) => this.#events.notify(v),
      clock: o.clock,
      domid: o.domid,
      onError: (e) => o.log('warn', `event channel engine: ${String(e)}`),
    })
    this.#events.attach(this.#engine)
    const events = this.#events
    const params = new Map<number, bigint>()
    const uuid = o.uuid ?? '00000000-0000-0000-0000-000000000000'
    let grantTable: GrantTable | undefined
    if (o.pv !== undefined) {
      this.#xenstore = new XenstoreBackend({
        memory: o.memory,
        gpa: o.pv.storeGpa,
        evtchn: events.offload,
        domain: { domid: o.domid, name: o.pv.name, uuid, memoryKiB: o.pv.memoryKiB },
        onError: (m) => o.log('warn', m),
      })
      params.set(HVM_PARAM_PV.STORE_PFN, BigInt(o.pv.storeGpa / 4096))
      params.set(HVM_PARAM_PV.STORE_EVTCHN, BigInt(this.#xenstore.port))
      this.#console = new XenConsoleBackend({
        memory: o.memory,
        gpa: o.pv.consoleGpa,
        evtchn: events.offload,
        output: o.pv.consoleOutput,
      })
      params.set(HVM_PARAM_PV.CONSOLE_PFN, BigInt(o.pv.consoleGpa / 4096))
      params.set(HVM_PARAM_PV.CONSOLE_EVTCHN, BigInt(this.#console.port))
      grantTable = new GrantTable({
        memory: o.memory,
        gpa: o.pv.grantTableGpa,
        maxFrames: o.pv.grantFrames,
        domid: o.domid,
        seed: { consoleGpa: o.pv.consoleGpa, storeGpa: o.pv.storeGpa },
      })
    }
    const handle = domainHandle(uuid)
    this.#platform = new XenPlatform({
      memory: o.memory,
      vcpus: o.vcpus.count,
      domid: o.domid,
      xenVersion: o.xenVersion,
      ...(handle !== null && { handle }),
      params,
      events: this.#engine,
      ...(grantTable !== undefined && { grantTable }),
      mapSharedInfo: (gpa) => events.mapSharedInfo(gpa),
      setCallbackVector: (v) => events.setCallbackVector(v),
      setUpcallVector: (vcpu, v) => events.setUpcallVector(vcpu, v),
      setRunstateArea: (vcpu, gpa) => events.setRunstateArea(vcpu, gpa),
      setVcpuTimeArea: (vcpu, gpa) => events.setVcpuTimeArea(vcpu, gpa),
      shutdown: (reason, vcpu) => o.shutdown(reason, vcpu),
      log: (m) => o.log('debug', m),
      bug: (m) => o.bug(m),
    })
    this.#backend = new DeviceBackend(this.#events.offload, o.clock)
    this.#consoleInput = this.#console && o.pv?.consoleInput
    if (this.#console !== undefined) this.#consoleInput?.attach(this.#console)
  }

  /** Handles one hypercall; returns what the guest gets in RAX (signed). Never throws. */
  hypercall(exit: HypercallExit, ctx: HypercallContext): number {
    return this.#platform.handle(exit, ctx)
  }

  /** Serves one backend request of the guest. Never throws. */
  backend(req: BackendRequest): BackendReply {
    return this.#backend.handle(req)
  }

  /**
   * The VMM's tick: drains the backend's eventfds (their watches usually have), the console's
   * output, and retries console input.
   */
  pollBackend(): void {
    this.#backend.poll()
    // Cheap (two index reads), and catches output a guest wrote without a kick.
    this.#console?.drain()
    // Input that did not fit the in ring goes in as the guest reads it.
    this.#consoleInput?.retry()
  }

  /**
   * Asks the guest to shut down through xenstore (control/shutdown), as `xl shutdown` does.
   * False when the domain has no xenstore, or the guest never said it can (feature-poweroff).
   */
  requestShutdown(request: ShutdownRequest): boolean {
    const store = this.#xenstore
    if (store === undefined) return false
    store.requestShutdown(request)
    return store.read('control/feature-poweroff') === '1'
  }

  /** The xenstore backend, if the domain has one (for tests and stats). */
  get xenstore(): XenstoreBackend | undefined {
    return this.#xenstore
  }

  /** Stops the timers and closes the backend; returns the errors to report. */
  dispose(): string[] {
    this.#consoleInput?.detach()
    this.#xenstore?.close()
    this.#console?.close()
    this.#backend.dispose()
    this.#engine.dispose()
    this.#events.dispose()
    return [...this.#events.errors, ...this.#backend.errors]
  }
}
