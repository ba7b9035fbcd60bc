// The main thread's side of the vCPU threads: one worker per vCPU (thread.ts) running KVM_RUN,
// its call slot (a hypercall or backend request waits there for the answer), its attribute queue,
// kick and force-stop. As in Firecracker's vstate/vcpu.rs, a vCPU's ioctls belong to its own
// thread once it runs: KVM_RUN holds the vCPU mutex while the guest sleeps in the kernel, so the
// main thread queues them and kicks the vCPU out of KVM_RUN to run them.
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads'
import type { Vcpu, Vm, XenVcpuAttr } from '@tsvmm/kvm-sys'
import * as abi from '@tsvmm/kvm-sys/abi'
import type { PlatformState } from '../devices/platform.js'
import {
  CALL,
  CALL_STATE,
  requestsWord,
  SHARED,
  sharedBytes,
  type VcpuMessage,
  type VcpuWorkerData,
} from './channel.js'

/** KVM_MP_STATE_* by value, as whereabouts() prints them. */
const MP_STATE_NAMES: Record<number, string> = {
  [abi.KVM_MP_STATE_RUNNABLE]: 'runnable',
  [abi.KVM_MP_STATE_UNINITIALIZED]: 'uninitialized',
  [abi.KVM_MP_STATE_INIT_RECEIVED]: 'init received',
  [abi.KVM_MP_STATE_HALTED]: 'halted',
  [abi.KVM_MP_STATE_SIPI_RECEIVED]: 'sipi received',
}

/** How long vCPU threads get to leave KVM_RUN after a stop before they are terminated. */
const STOP_GRACE_MS = 5000

/**
 * vCPU operations for code on the main thread. A vCPU ioctl waits for the vCPU's mutex, which
 * KVM_RUN holds while the vCPU sleeps in the kernel (hlt, SCHEDOP_poll): these never issue one
 * from the caller's thread once the vCPU threads run.
 */
export interface VcpuOps {
  readonly count: number
  /** The local APIC ID of `vcpu` (tsvmm numbers them as the vCPUs). */
  apicId(vcpu: number): number
  /** KVM_XEN_VCPU_SET_ATTR on `vcpu`, now or before its next KVM_RUN, in the order given. */
  setAttr(vcpu: number, attr: XenVcpuAttr): void
  /** Makes `vcpu` leave KVM_RUN once (it goes back in at once). */
  kick(vcpu: number): void
}

/** What the threads tell their owner. */
export interface VcpuThreadEvents {
  /** A message of vCPU thread `m.vcpu`; for a call, answer it with {@link VcpuThreads.answer}. */
  message(m: VcpuMessage): void
  /** A thread threw outside its run loop. */
  failed(vcpu: number, error: Error): void
  /** A thread ended (its queued messages are in). */
  gone(vcpu: number, code: number): void
  /** A thread did not leave KVM_RUN within the grace period after stop() and is terminated. */
  forced(vcpu: number, graceMs: number): void
}

interface CallSlot {
  state: Int32Array
  answer: BigInt64Array
  buffer: SharedArrayBuffer
}

/** The vCPU threads of one VM. */
export class VcpuThreads implements VcpuOps {
  readonly #vm: Vm
  readonly #vcpus: readonly Vcpu[]
  readonly #shared: Int32Array
  readonly #calls: CallSlot[] = []
  readonly #workers: Worker[] = []
  /** The main thread's ends of the vCPU request channels. */
  readonly #requestPorts: MessagePort[] = []
  /** vCPUs waiting for a call answer: out of KVM_RUN, so their queue is drained before resuming. */
  readonly #parked = new Set<number>()
  #events: VcpuThreadEvents | undefined
  #started = false
  #stopped = false
  /** vCPUs whose thread had to be terminated: maybe still in KVM_RUN, so no ioctls on them. */
  readonly #forced = new Set<number>()
  readonly #running = new Set<number>()

  constructor(vm: Vm, vcpus: readonly Vcpu[]) {
    this.#vm = vm
    this.#vcpus = vcpus
    this.#shared = new Int32Array(new SharedArrayBuffer(sharedBytes(vcpus.length)))
  }

  get count(): number {
    return this.#vcpus.length
  }

  apicId(vcpu: number): number {
    return vcpu
  }

  /** Threads still running. */
  get running(): number {
    return this.#running.size
  }

  /**
   * Starts one worker per vCPU. `debug`: they log unhandled port and MMIO accesses; `platform`:
   * the PC devices a Linux guest drives, shared by every worker.
   */
  start(events: VcpuThreadEvents, debug: boolean, platform?: PlatformState): void {
    const url = new URL('./thread.js', import.meta.url)
    this.#started = true
    for (let i = 0; i < this.#vcpus.length; i++) {
      const buffer = new SharedArrayBuffer(CALL.BYTES)
      const channel = new MessageChannel()
      this.#requestPorts.push(channel.port1)
      this.#calls.push({ state: new Int32Array(buffer), answer: new BigInt64Array(buffer), buffer })
      const data: VcpuWorkerData = {
        vmHandle: this.#vm.handle,
        vcpuHandle: (this.#vcpus[i] as Vcpu).handle,
        index: i,
        shared: this.#shared.buffer as SharedArrayBuffer,
        call: buffer,
        requests: channel.port2,
        vcpus: this.#vcpus.length,
        debug,
        ...(platform !== undefined && { platform }),
      }
      const w = new Worker(url, { workerData: data, transferList: [channel.port2] })
      this.#running.add(i)
      w.on('message', (m: VcpuMessage) => {
        if (m.t === 'hypercall' || m.t === 'backend') this.#parked.add(m.vcpu)
        events.message(m)
      })
      w.on('error', (e) => events.failed(i, e))
      // Messages the thread posted just before it ended may still be queued: let them in first.
      w.on('exit', (code) =>
        setTimeout(() => {
          if (this.#running.delete(i)) events.gone(i, code)
        }, 50),
      )
      this.#workers.push(w)
    }
    this.#events = events
  }

  /**
   * KVM_XEN_VCPU_SET_ATTR for `vcpu`. Before the threads start it is issued here; after, it always
   * goes through the vCPU's own queue, which its thread drains before every KVM_RUN: one queue
   * keeps the order of attributes set for that vCPU (a default vcpu_info must not land after the
   * guest registered its own). A vCPU waiting for an answer drains the queue before it resumes
   * the guest; any other is kicked out of KVM_RUN to do it.
   */
  setAttr(vcpu: number, attr: XenVcpuAttr): void {
    const v = this.#vcpus[vcpu]
    if (v === undefined) return
    if (!this.#started) {
      v.xenVcpuSetAttr(attr)
      return
    }
    this.#requestPorts[vcpu]?.postMessage({ t: 'attr', attr })
    Atomics.store(this.#shared, requestsWord(this.#vcpus.length, vcpu), 1)
    if (!this.#parked.has(vcpu)) v.kick()
  }

  kick(vcpu: number): void {
    this.#vcpus[vcpu]?.kick()
  }

  /** Answers `vcpu`'s call: the guest resumes with `value`, unless `resume` is false or stopped. */
  answer(vcpu: number, value: bigint, resume: boolean): void {
    this.#parked.delete(vcpu)
    const c = this.#calls[vcpu]
    if (c === undefined) return
    c.answer[CALL.ANSWER] = value
    Atomics.store(
      c.state,
      CALL.STATE,
      resume && !this.#stopped ? CALL_STATE.RESUME : CALL_STATE.STOP,
    )
    Atomics.notify(c.state, CALL.STATE)
  }

  /** Exits to userspace so far, all vCPUs. */
  exitCount(): number {
    let n = 0
    for (let i = 0; i < this.#vcpus.length; i++)
      n += Atomics.load(this.#shared, SHARED.EXITS + i) >>> 0
    return n
  }

  /**
   * Makes every thread leave its run loop: the stop flag, every waiting call answered "stop",
   * every vCPU kicked; a thread still in KVM_RUN after the grace period is terminated.
   */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    Atomics.store(this.#shared, SHARED.STOP, 1)
    for (const [i, c] of this.#calls.entries()) {
      if (this.#running.has(i)) {
        Atomics.store(c.state, CALL.STATE, CALL_STATE.STOP)
        Atomics.notify(c.state, CALL.STATE)
      }
    }
    for (const v of this.#vcpus) {
      try {
        v.kick()
      } catch {
        // already closed
      }
    }
    const force = setTimeout(() => {
      for (const i of this.#running) {
        this.#forced.add(i)
        this.#events?.forced(i, STOP_GRACE_MS)
        void this.#workers[i]?.terminate()
      }
    }, STOP_GRACE_MS)
    force.unref()
  }

  /**
   * Where each vCPU is, once every thread is out of KVM_RUN ("vCPU 0 at rip 0x..., halted, IF=1"):
   * a guest spinning shows a runnable vCPU, one waiting for an interrupt that never came a
   * halted vCPU with IF=1, and an AP never started "uninitialized".
   */
  whereabouts(): string[] {
    return this.#vcpus.map((v, i) => {
      if (this.#forced.has(i)) return `vCPU ${i} stuck in KVM_RUN`
      try {
        const r = v.getRegs()
        const mp = MP_STATE_NAMES[v.getMpState()] ?? 'mp_state unknown'
        return `vCPU ${i} at rip 0x${r.rip.toString(16)}, ${mp}, IF=${(r.rflags >> 9n) & 1n}`
      } catch {
        return `vCPU ${i} at an unknown rip`
      }
    })
  }

  /** Closes the request channels (after every thread ended). */
  close(): void {
    for (const p of this.#requestPorts) p.close()
  }
}
