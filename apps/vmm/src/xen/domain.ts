// The Xen side of one guest domain: the event channel engine (@tsvmm/xen-evtchn), its delivery
// (events.ts), the hypercall dispatch (hypercalls.ts) and the test backend (backend.ts), wired
// together. The machine hands it hypercalls and backend requests from the vCPU threads.
import type { GuestMemory } from '@tsvmm/guest-memory'
import type { Vm } from '@tsvmm/kvm-sys'
import { type EvtchnClock, EvtchnEngine } from '@tsvmm/xen-evtchn'
import type { BackendRequest } from '../devices/guest-protocol.js'
import type { VcpuOps } from '../vcpu/threads.js'
import { type BackendReply, DeviceBackend } from './backend.js'
import { type ActiveDelivery, XenEvents } from './events.js'
import { type HypercallContext, type HypercallExit, XenPlatform } from './hypercalls.js'

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
    this.#platform = new XenPlatform({
      memory: o.memory,
      vcpus: o.vcpus.count,
      domid: o.domid,
      xenVersion: o.xenVersion,
      events: this.#engine,
      mapSharedInfo: (gpa) => events.mapSharedInfo(gpa),
      setCallbackVector: (v) => events.setCallbackVector(v),
      setUpcallVector: (vcpu, v) => events.setUpcallVector(vcpu, v),
      setRunstateArea: (vcpu, gpa) => events.setRunstateArea(vcpu, gpa),
      setVcpuTimeArea: (vcpu, gpa) => events.setVcpuTimeArea(vcpu, gpa),
      shutdown: (reason, vcpu) => o.shutdown(reason, vcpu),
      log: (m) => o.log('debug', m),
      bug: (m) => o.bug(m),
    })
    this.#backend = new DeviceBackend(this.#events.offload)
  }

  /** Handles one hypercall; returns what the guest gets in RAX (signed). Never throws. */
  hypercall(exit: HypercallExit, ctx: HypercallContext): number {
    return this.#platform.handle(exit, ctx)
  }

  /** Serves one backend request of the guest. Never throws. */
  backend(req: BackendRequest): BackendReply {
    return this.#backend.handle(req)
  }

  /** Drains the backend's eventfds (guest sends the kernel took; irqfd writes in user delivery). */
  pollBackend(): void {
    this.#backend.poll()
  }

  /** Stops the timers and closes the backend; returns the errors to report. */
  dispose(): string[] {
    this.#engine.dispose()
    this.#events.dispose()
    return [...this.#events.errors, ...this.#backend.errors]
  }
}
