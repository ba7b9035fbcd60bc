// A tsvmm VM: KVM set up for a Xen HVM guest, the guest image loaded, one worker thread per vCPU,
// and the main thread serving hypercalls (xen-platform.ts), backend requests (backend.ts) and
// event delivery (xen-events.ts). It stops when the guest shuts down, on stop() (Ctrl-C, a
// timeout, the watchdog) or on a VM failure, and reports what happened with an exit code.
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads'
import { GuestMemory } from '@tsvmm/guest-memory'
import { abi, isKvmError, Kvm, type Vcpu, type Vm, type XenVcpuAttr } from '@tsvmm/kvm-sys'
import { type EvtchnClock, EvtchnEngine, monotonicClock } from '@tsvmm/xen-evtchn'
import { DeviceBackend } from './backend.js'
import { BOOT_AREA_END, bootRegisters, writeBootStructures } from './boot.js'
import { capsReport, chooseDelivery } from './caps.js'
import { kvmClock } from './clock.js'
import type { LogLevel, RunConfig } from './config.js'
import { vcpuCpuid, XEN_HYPERCALL_MSR } from './cpuid.js'
import { checkImageFits, type GuestImage, loadElfFile } from './elf.js'
import { EXIT, type ExitCode, VmmError } from './errors.js'
import {
  type CheckResult,
  ConsoleLines,
  readBackendRequest,
  writeBackendReply,
} from './guest-protocol.js'
import {
  CALL,
  CALL_STATE,
  requestsWord,
  SHARED,
  sharedBytes,
  type VcpuMessage,
  type VcpuStop,
  type VcpuWorkerData,
} from './vcpu-channel.js'
import { type ActiveDelivery, XenEvents } from './xen-events.js'
import { HYPERCALL, resultToRax, SHUTDOWN, XenPlatform } from './xen-platform.js'

/** The domain id of the guest (DOMID_SELF stands for it; 0 is the backend). */
export const GUEST_DOMID = 1

/** Why a VM stopped. */
export type StopReason =
  | 'poweroff'
  | 'crash'
  | 'reboot'
  | 'suspend'
  | 'guest-watchdog'
  | 'soft-reset'
  | 'triple-fault'
  | 'vm-error'
  | 'timeout'
  | 'watchdog'
  | 'signal'
  | 'duration'

/** What a run ended with. */
export interface RunOutcome {
  exitCode: ExitCode
  reason: StopReason
  /** One line saying why the VM stopped. */
  message: string
  delivery: ActiveDelivery
  width: 64 | 32
  results: CheckResult[]
  passed: number
  failed: number
  /** Exits to userspace, all vCPUs. */
  exits: number
  /** From starting the vCPU threads to the stop decision. */
  runMs: number
  /** Exits and time from `measureAfterMs` to the stop, when that was asked for (the bench). */
  window?: { exits: number; ms: number }
}

/** Where a machine's output goes. */
export interface MachineOutput {
  console(vcpu: number, line: string): void
  result(result: CheckResult): void
  log(level: LogLevel, message: string): void
}

/** A run's configuration plus knobs for tests and the bench. */
export interface MachineOptions extends RunConfig {
  /** Stop (successfully) after this long: the bench's run. */
  durationMs?: number
  /** Start counting exits for {@link RunOutcome.window} this long after the start (a warm-up). */
  measureAfterMs?: number
  /**
   * false: no Xen HVM set-up at all (no hypercall interception, Xen attributes or kernel
   * delivery), for guests that never use Xen, e.g. the bench guest on a KVM without Xen support.
   * Default true.
   */
  xen?: boolean
}

const SHUTDOWN_REASONS: Record<number, StopReason> = {
  [SHUTDOWN.poweroff]: 'poweroff',
  [SHUTDOWN.reboot]: 'reboot',
  [SHUTDOWN.suspend]: 'suspend',
  [SHUTDOWN.crash]: 'crash',
  [SHUTDOWN.watchdog]: 'guest-watchdog',
  [SHUTDOWN.soft_reset]: 'soft-reset',
}
/** EVTCHNOPs after which kernel delivery re-syncs the port table. */
const PORT_CHANGING_EVTCHNOPS = new Set([0, 1, 3, 7, 8, 10])
/** Results kept for the outcome (all are printed and counted). */
const MAX_KEPT_RESULTS = 10_000
/** How long vCPU threads get to leave KVM_RUN after a stop before they are terminated. */
const STOP_GRACE_MS = 5000

function kvmFailure(what: string, e: unknown): VmmError {
  if (isKvmError(e))
    return new VmmError(
      'kvm',
      `${what}: ${e.syscall}: ${e.code}${e.detail ? ` (${e.detail})` : ''}`,
      e.hint,
    )
  return new VmmError('internal', `${what}: ${e instanceof Error ? e.message : String(e)}`)
}

/** Opens /dev/kvm or explains why it cannot. */
export function openKvm(): Kvm {
  try {
    return Kvm.open()
  } catch (e) {
    if (isKvmError(e))
      throw new VmmError(
        'kvm',
        `cannot use /dev/kvm: ${e.code}${e.detail ? ` (${e.detail})` : ''}`,
        e.hint ?? 'run inside tools/kvm-host: `pnpm kvm-host -- <command>`',
      )
    throw e
  }
}

/** One VM run. Use {@link Machine.run}. */
export class Machine {
  readonly #config: MachineOptions
  readonly #out: MachineOutput
  readonly #image: GuestImage
  readonly #kvm: Kvm
  readonly #vm: Vm
  readonly #vcpus: Vcpu[] = []
  readonly #memory: GuestMemory
  readonly #delivery: ActiveDelivery
  readonly #events: XenEvents
  readonly #engine: EvtchnEngine
  readonly #platform: XenPlatform
  readonly #backend: DeviceBackend
  readonly #shared: Int32Array
  readonly #calls: { state: Int32Array; answer: BigInt64Array; buffer: SharedArrayBuffer }[] = []
  readonly #workers: Worker[] = []
  /** The main thread's ends of the vCPU request channels. */
  readonly #requestPorts: MessagePort[] = []
  /** vCPUs waiting for a call answer: out of KVM_RUN, so their ioctls can be issued from here. */
  readonly #parked = new Set<number>()
  #threadsStarted = false
  /** vCPUs whose thread had to be terminated: maybe still in KVM_RUN, so no ioctls on them. */
  readonly #forced = new Set<number>()
  readonly #running = new Set<number>()
  readonly #consoles: ConsoleLines[] = []
  readonly #results: CheckResult[] = []
  #protocolErrors = 0
  #passed = 0
  #failed = 0
  #stop: { reason: StopReason; message: string; exitCode: ExitCode } | undefined
  #started = 0n
  #stoppedAt = 0n
  #window: { exits: number; at: bigint; stopExits: number } | undefined
  #finish: (() => void) | undefined
  readonly #timers: ReturnType<typeof setTimeout>[] = []

  private constructor(config: MachineOptions, out: MachineOutput) {
    this.#config = config
    this.#out = out
    this.#image = loadElfFile(config.image)
    const ramBytes = config.memoryMiB * 1048576
    checkImageFits(this.#image, config.image, ramBytes, BOOT_AREA_END)
    this.#kvm = openKvm()
    try {
      this.#delivery =
        config.xen === false
          ? 'user'
          : chooseDelivery(capsReport(this.#kvm.capabilities()), config.delivery)
      this.#vm = this.#kvm.createVm()
    } catch (e) {
      this.#kvm.close()
      throw e instanceof VmmError ? e : kvmFailure('KVM_CREATE_VM', e)
    }
    try {
      this.#vm.enableSplitIrqchip(24)
      const region = this.#vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: ramBytes })
      this.#memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(region.buffer) }])
      this.#loadImage()
      if (config.xen !== false) this.#configureXen()
      this.#createVcpus()
      this.#events = new XenEvents(
        this.#vm,
        {
          count: config.vcpus,
          setAttr: (v, attr) => this.#vcpuAttr(v, attr),
          kick: (v) => this.#vcpus[v]?.kick(),
        },
        this.#memory,
        this.#delivery,
        GUEST_DOMID,
      )
      this.#engine = new EvtchnEngine({
        memory: this.#memory,
        vcpus: config.vcpus,
        longMode: this.#image.width === 64,
        notify: (v) => this.#events.notify(v),
        clock: this.#clock(),
        domid: GUEST_DOMID,
        onError: (e) => out.log('warn', `event channel engine: ${String(e)}`),
      })
      this.#events.attach(this.#engine)
      this.#platform = this.#makePlatform()
      this.#backend = new DeviceBackend(this.#engine, this.#delivery, this.#vm)
    } catch (e) {
      this.#vm.close()
      this.#kvm.close()
      throw e instanceof VmmError ? e : kvmFailure('setting up the VM', e)
    }
    this.#shared = new Int32Array(new SharedArrayBuffer(sharedBytes(config.vcpus)))
  }

  /**
   * Runs `config` to the end: resolves with the outcome (it never rejects for guest or VM
   * failures; a VmmError is thrown only when the VM cannot be set up). `abort` stops it.
   */
  static async run(
    config: MachineOptions,
    out: MachineOutput,
    abort?: AbortSignal,
  ): Promise<RunOutcome> {
    const m = new Machine(config, out)
    return m.#run(abort)
  }

  #loadImage(): void {
    writeBootStructures(this.#memory, this.#image.width)
    for (const s of this.#image.segments) this.#memory.write(s.gpa, s.data)
  }

  #configureXen(): void {
    const { major, minor } = this.#config.xenVersion
    const kernel = this.#delivery === 'kernel'
    this.#vm.xenHvmConfig({
      flags:
        abi.KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL | (kernel ? abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND : 0),
      msr: XEN_HYPERCALL_MSR,
    })
    this.#vm.xenHvmSetAttr({ type: 'LONG_MODE', longMode: this.#image.width === 64 })
    if (kernel) this.#vm.xenHvmSetAttr({ type: 'XEN_VERSION', version: (major << 16) | minor })
  }

  #createVcpus(): void {
    const n = this.#config.vcpus
    const supported = this.#kvm.getSupportedCpuid()
    let tscKhz = 0
    const regs = bootRegisters(this.#image.width, this.#image.entry)
    for (let i = 0; i < n; i++) {
      const vcpu = this.#vm.createVcpu(i)
      this.#vcpus.push(vcpu)
      if (i === 0) {
        try {
          tscKhz = vcpu.getTscKhz()
        } catch {
          tscKhz = 0
        }
      }
      const { major, minor } = this.#config.xenVersion
      vcpu.setCpuid2(
        vcpuCpuid(supported, i, n, {
          version: (major << 16) | minor,
          tscKhz,
          domid: GUEST_DOMID,
          perVcpuUpcallVector: true,
        }),
      )
      const s = vcpu.getSregs()
      vcpu.setSregs({
        ...s,
        cs: regs.cs,
        ds: regs.data,
        es: regs.data,
        fs: regs.data,
        gs: regs.data,
        ss: regs.data,
        tr: regs.tr,
        ldt: regs.ldt,
        gdt: regs.gdt,
        idt: regs.idt,
        cr0: regs.cr0,
        cr3: regs.cr3,
        cr4: regs.cr4,
        efer: regs.efer,
      })
      vcpu.setRegs({ ...vcpu.getRegs(), rip: regs.rip, rsp: regs.rsp, rflags: regs.rflags })
      // With the local APIC in the kernel, vCPUs but the first wait for INIT/SIPI: start them all.
      vcpu.setMpState(0)
      if (this.#delivery === 'kernel') vcpu.xenVcpuSetAttr({ type: 'VCPU_ID', vcpuId: i })
    }
  }

  #clock(): EvtchnClock {
    try {
      this.#vm.getClock()
      return kvmClock(this.#vm)
    } catch {
      this.#out.log(
        'warn',
        'KVM_GET_CLOCK is not available: timers use the host clock, not the guest pvclock',
      )
      return monotonicClock()
    }
  }

  #makePlatform(): XenPlatform {
    const { major, minor } = this.#config.xenVersion
    const events = this.#events
    return new XenPlatform({
      memory: this.#memory,
      vcpus: this.#config.vcpus,
      domid: GUEST_DOMID,
      xenVersion: (major << 16) | minor,
      events: this.#engine,
      mapSharedInfo: (gpa) => events.mapSharedInfo(gpa),
      setCallbackVector: (v) => events.setCallbackVector(v),
      setUpcallVector: (vcpu, v) => events.setUpcallVector(vcpu, v),
      vcpuInfoMoved: (vcpu, gpa) => events.vcpuInfoMoved(vcpu, gpa),
      setRunstateArea: (vcpu, gpa) => events.setRunstateArea(vcpu, gpa),
      setVcpuTimeArea: (vcpu, gpa) => events.setVcpuTimeArea(vcpu, gpa),
      shutdown: (reason, vcpu) => this.#guestShutdown(reason, vcpu),
      log: (m) => this.#out.log('debug', m),
    })
  }

  #run(abort?: AbortSignal): Promise<RunOutcome> {
    const done = new Promise<void>((resolve) => {
      this.#finish = resolve
    })
    const url = new URL('./vcpu-thread.js', import.meta.url)
    this.#started = process.hrtime.bigint()
    this.#threadsStarted = true
    for (let i = 0; i < this.#config.vcpus; i++) {
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
        vcpus: this.#config.vcpus,
        debug: this.#config.logLevel === 'debug',
      }
      const w = new Worker(url, { workerData: data, transferList: [channel.port2] })
      this.#running.add(i)
      w.on('message', (m: VcpuMessage) => this.#onMessage(m))
      w.on('error', (e) =>
        this.stop('vm-error', `vCPU ${i} thread failed: ${e.message}`, EXIT.INTERNAL),
      )
      // Messages the thread posted just before it ended may still be queued: let them in first.
      w.on('exit', (code) => setTimeout(() => this.#threadGone(i, code), 50))
      this.#consoles.push(new ConsoleLines())
      this.#workers.push(w)
    }
    if (abort !== undefined) {
      if (abort.aborted) this.stop('signal', 'stopped by a signal', EXIT.SIGINT)
      abort.addEventListener('abort', () => {
        const sig = abort.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'
        this.stop('signal', `stopped by ${sig}`, sig === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT)
      })
    }
    this.#armTimers()
    return done.then(() => this.#outcome())
  }

  #armTimers(): void {
    const c = this.#config
    if (c.timeoutSec > 0)
      this.#timers.push(
        setTimeout(
          () =>
            this.stop(
              'timeout',
              `the guest did not finish within ${c.timeoutSec} s${this.#where()}`,
              EXIT.VM_FAILED,
            ),
          c.timeoutSec * 1000,
        ),
      )
    if (c.measureAfterMs !== undefined)
      this.#timers.push(
        setTimeout(() => {
          this.#window = { exits: this.#exitCount(), at: process.hrtime.bigint(), stopExits: 0 }
        }, c.measureAfterMs),
      )
    if (c.durationMs !== undefined)
      this.#timers.push(
        setTimeout(
          () => this.stop('duration', `ran for ${c.durationMs} ms`, EXIT.OK),
          c.durationMs,
        ),
      )
    if (c.watchdogSec > 0) {
      let last = -1
      let quietSince = Date.now()
      const t = setInterval(() => {
        const exits = this.#exitCount()
        if (exits !== last) {
          last = exits
          quietSince = Date.now()
        } else if (Date.now() - quietSince >= c.watchdogSec * 1000) {
          this.stop(
            'watchdog',
            `the guest stopped answering: no vCPU exited to tsvmm for ${c.watchdogSec} s${this.#where()}`,
            EXIT.VM_FAILED,
          )
        }
      }, 250)
      this.#timers.push(t)
    }
    if (this.#delivery === 'user') {
      // Userspace irqfd routes: drain the backend's eventfds as KVM's irqfd worker would.
      this.#timers.push(setInterval(() => this.#backend.poll(), 10))
    }
  }

  /** " (vCPU 0 at rip 0x...)" for messages about a guest that will not stop by itself. */
  #where(): string {
    return ` (${this.#exitCount()} exits so far)`
  }

  #exitCount(): number {
    let n = 0
    for (let i = 0; i < this.#config.vcpus; i++)
      n += Atomics.load(this.#shared, SHARED.EXITS + i) >>> 0
    return n
  }

  /** Stops the VM: every vCPU thread leaves KVM_RUN; the first reason given wins. */
  stop(reason: StopReason, message: string, exitCode: ExitCode): void {
    if (this.#stop !== undefined) return
    this.#stop = { reason, message, exitCode }
    this.#stoppedAt = process.hrtime.bigint()
    if (this.#window !== undefined) this.#window.stopExits = this.#exitCount()
    Atomics.store(this.#shared, SHARED.STOP, 1)
    for (const t of this.#timers) clearTimeout(t)
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
        this.#out.log(
          'warn',
          `vCPU ${i} did not leave KVM_RUN in ${STOP_GRACE_MS} ms: terminating its thread`,
        )
        void this.#workers[i]?.terminate()
      }
    }, STOP_GRACE_MS)
    force.unref()
    if (this.#running.size === 0) this.#cleanup()
  }

  #threadGone(i: number, code: number): void {
    if (!this.#running.delete(i)) return
    if (this.#stop === undefined)
      this.stop(
        'vm-error',
        `vCPU ${i} thread ended unexpectedly (exit code ${code})`,
        EXIT.INTERNAL,
      )
    if (this.#running.size === 0) this.#cleanup()
  }

  #cleanup(): void {
    if (this.#finish === undefined) return
    const finish = this.#finish
    this.#finish = undefined
    for (const c of this.#consoles.entries()) {
      const rest = c[1].flush()
      if (rest !== undefined) this.#out.console(c[0], rest)
    }
    const stop = this.#stop
    if (stop !== undefined && (stop.reason === 'timeout' || stop.reason === 'watchdog')) {
      // Every vCPU thread is out of KVM_RUN now: say where a guest that would not stop was.
      const where = this.#vcpus.map((v, i) => {
        if (this.#forced.has(i)) return `vCPU ${i} stuck in KVM_RUN`
        try {
          return `vCPU ${i} at rip 0x${v.getRegs().rip.toString(16)}`
        } catch {
          return `vCPU ${i} at an unknown rip`
        }
      })
      stop.message = `${stop.message}; ${where.join(', ')}`
    }
    this.#engine.dispose()
    this.#backend.dispose()
    for (const p of this.#requestPorts) p.close()
    for (const e of [...this.#events.errors, ...this.#backend.errors]) this.#out.log('warn', e)
    try {
      this.#vm.close()
      this.#kvm.close()
    } catch (e) {
      this.#out.log('warn', `closing the VM: ${String(e)}`)
    }
    finish()
  }

  #outcome(): RunOutcome {
    const stop = this.#stop ?? {
      reason: 'vm-error' as const,
      message: 'stopped for no reason',
      exitCode: EXIT.INTERNAL,
    }
    const failed = this.#failed + this.#protocolErrors
    const passed = this.#passed
    let { exitCode, message } = stop
    if (stop.reason === 'poweroff' && failed > 0) {
      exitCode = EXIT.GUEST_FAILED
      message = `${message}; ${failed} check(s) failed`
    }
    return {
      exitCode,
      reason: stop.reason,
      message,
      delivery: this.#delivery,
      width: this.#image.width,
      results: [...this.#results],
      passed,
      failed,
      exits: this.#exitCount(),
      runMs: Number((this.#stoppedAt || process.hrtime.bigint()) - this.#started) / 1e6,
      ...(this.#window !== undefined && {
        window: {
          exits: this.#window.stopExits - this.#window.exits,
          ms: Number(this.#stoppedAt - this.#window.at) / 1e6,
        },
      }),
    }
  }

  #guestShutdown(reason: number, vcpu: number): void {
    const r = SHUTDOWN_REASONS[reason] ?? 'crash'
    switch (r) {
      case 'poweroff':
        this.stop(r, `the guest powered off (vCPU ${vcpu})`, EXIT.OK)
        break
      case 'crash':
        this.stop(r, `the guest crashed (SHUTDOWN_crash from vCPU ${vcpu})`, EXIT.GUEST_FAILED)
        break
      default:
        this.stop(
          r,
          `the guest asked for ${r} (vCPU ${vcpu}), which tsvmm does not do: stopped`,
          EXIT.GUEST_FAILED,
        )
    }
  }

  /**
   * KVM_XEN_VCPU_SET_ATTR for `vcpu`. Before the vCPU threads start it is issued here; after, it
   * always goes through the vCPU's own queue, which its thread drains before every KVM_RUN: a
   * vCPU ioctl from here would wait for the vCPU's mutex (held by KVM_RUN while the guest sleeps
   * in the kernel), and one queue keeps the order of attributes set for that vCPU (a default
   * vcpu_info must not land after the guest registered its own). A vCPU waiting for an answer
   * drains the queue before it resumes the guest; any other is kicked out of KVM_RUN to do it.
   */
  #vcpuAttr(vcpu: number, attr: XenVcpuAttr): void {
    const v = this.#vcpus[vcpu]
    if (v === undefined) return
    if (!this.#threadsStarted) {
      v.xenVcpuSetAttr(attr)
      return
    }
    this.#requestPorts[vcpu]?.postMessage({ t: 'attr', attr })
    Atomics.store(this.#shared, requestsWord(this.#config.vcpus, vcpu), 1)
    if (!this.#parked.has(vcpu)) v.kick()
  }

  #answer(vcpu: number, value: bigint, resume: boolean): void {
    this.#parked.delete(vcpu)
    const c = this.#calls[vcpu]
    if (c === undefined) return
    c.answer[CALL.ANSWER] = value
    Atomics.store(
      c.state,
      CALL.STATE,
      resume && this.#stop === undefined ? CALL_STATE.RESUME : CALL_STATE.STOP,
    )
    Atomics.notify(c.state, CALL.STATE)
  }

  #onMessage(m: VcpuMessage): void {
    switch (m.t) {
      case 'ready':
        return
      case 'console':
        for (const line of this.#consoles[m.vcpu]?.push(m.bytes) ?? [])
          this.#out.console(m.vcpu, line)
        return
      case 'result': {
        const r = { ...m.result, vcpu: m.vcpu }
        // A guest can report for ever: keep the first results, count all of them.
        if (this.#results.length < MAX_KEPT_RESULTS) this.#results.push(r)
        if (r.passed) this.#passed++
        else this.#failed++
        this.#out.result(r)
        return
      }
      case 'protocol-error':
        this.#protocolErrors++
        this.#out.log('warn', `vCPU ${m.vcpu}: ${m.message}`)
        return
      case 'unhandled':
        this.#out.log('debug', `vCPU ${m.vcpu}: unhandled ${m.what}`)
        return
      case 'log':
        this.#out.log('warn', `vCPU ${m.vcpu}: ${m.message}`)
        return
      case 'hypercall': {
        this.#parked.add(m.vcpu)
        const r = this.#platform.handle(
          { input: m.input, params: m.params, longMode: m.longMode, cpl: m.cpl },
          { vcpu: m.vcpu, paging: m.paging },
        )
        if (
          m.input === BigInt(HYPERCALL.event_channel_op) &&
          r >= 0 &&
          PORT_CHANGING_EVTCHNOPS.has(Number(m.params[0] ?? 0n))
        )
          this.#events.portsChanged()
        this.#answer(m.vcpu, resultToRax(r), true)
        return
      }
      case 'backend': {
        this.#parked.add(m.vcpu)
        const req = readBackendRequest(this.#memory, m.gpa)
        if (typeof req === 'string') {
          this.#protocolErrors++
          this.#out.log('warn', `vCPU ${m.vcpu}: ${req}`)
        } else {
          writeBackendReply(this.#memory, m.gpa, this.#backend.handle(req))
        }
        this.#answer(m.vcpu, 0n, true)
        return
      }
      case 'exit':
        this.#out.log(
          'debug',
          `vCPU ${m.vcpu} left its run loop: ${m.stop.kind} ${JSON.stringify(m.stop, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))}`,
        )
        this.#vcpuStopped(m.vcpu, m.stop)
        return
    }
  }

  #vcpuStopped(vcpu: number, s: VcpuStop): void {
    const hex = (v: bigint) => `0x${v.toString(16)}`
    switch (s.kind) {
      case 'stopped':
        return
      case 'triple-fault':
        // KVM has reset the vCPU by now (rip 0xfff0): its registers say nothing of the fault.
        this.stop('triple-fault', `vCPU ${vcpu} triple-faulted (KVM_EXIT_SHUTDOWN)`, EXIT.VM_FAILED)
        return
      case 'internal-error':
        this.stop(
          'vm-error',
          `vCPU ${vcpu}: KVM internal error, suberror ${s.suberror}, at rip ${hex(s.rip)}`,
          EXIT.VM_FAILED,
        )
        return
      case 'fail-entry':
        this.stop(
          'vm-error',
          `vCPU ${vcpu}: KVM could not enter the guest (reason ${hex(s.reason)})`,
          EXIT.VM_FAILED,
        )
        return
      case 'system-event':
        this.stop('vm-error', `vCPU ${vcpu}: KVM system event ${s.type}`, EXIT.VM_FAILED)
        return
      case 'hlt':
        this.stop(
          'vm-error',
          `vCPU ${vcpu} halted in userspace at rip ${hex(s.rip)}`,
          EXIT.VM_FAILED,
        )
        return
      case 'error':
        this.stop('vm-error', `vCPU ${vcpu}: ${s.message}`, EXIT.VM_FAILED)
        return
    }
  }
}

/** The delivery mode `requested` resolves to on this host (for reports). */
export function deliveryFor(kvm: Kvm, requested: RunConfig['delivery']): ActiveDelivery {
  return chooseDelivery(capsReport(kvm.capabilities()), requested)
}

export { SHUTDOWN }
