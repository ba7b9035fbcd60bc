// A tsvmm VM run: the VM the builder made (builder.ts), one thread per vCPU (vcpu/threads.ts)
// and the main thread serving the guest's Xen hypercalls and backend requests (xen/domain.ts)
// and its console and check results (devices/guest-protocol.ts). It stops when the guest shuts down, on stop() (Ctrl-C, a
// timeout, the watchdog) or on a VM failure, and reports what happened with an exit code.
import type { GuestMemory } from '@tsvmm/guest-memory'
import type { Kvm, Vm } from '@tsvmm/kvm-sys'
import { buildVm, kvmFailure } from './builder.js'
import {
  type CheckResult,
  ConsoleLines,
  readBackendRequest,
  writeBackendReply,
} from './devices/guest-protocol.js'
import { createPlatformState, type PlatformState, serialReader } from './devices/platform.js'
import { domainOptions } from './domain-options.js'
import { EXIT, type ExitCode, VmmError } from './errors.js'
import type { MachineOptions, MachineOutput, RunOutcome } from './machine-api.js'
import {
  guestShutdownStop,
  platformStop,
  runVerdict,
  type StopDecision,
  type StopReason,
  vcpuStopStop,
} from './stop-reasons.js'
import type { VcpuMessage, VcpuStop } from './vcpu/channel.js'
import { VcpuThreads } from './vcpu/threads.js'
import type { ConsoleInputSource } from './xen/console.js'
import { XenDomain } from './xen/domain.js'
import type { ActiveDelivery } from './xen/events.js'
import { resultToRax } from './xen/hypercalls.js'

export type { MachineOptions, MachineOutput, RunOutcome } from './machine-api.js'
export type { StopReason } from './stop-reasons.js'

/** Results kept for the outcome (all are printed and counted). */
const MAX_KEPT_RESULTS = 10_000

/** One VM run. Use {@link Machine.run}. */
export class Machine {
  readonly #config: MachineOptions
  readonly #out: MachineOutput
  readonly #width: 64 | 32
  readonly #kvm: Kvm
  readonly #vm: Vm
  readonly #memory: GuestMemory
  readonly #delivery: ActiveDelivery
  readonly #threads: VcpuThreads
  readonly #xen: XenDomain
  readonly #consoles: ConsoleLines[] = []
  /** The PC devices of a Linux guest, and its serial port's lines. */
  readonly #platform: PlatformState | undefined
  readonly #serial = new ConsoleLines()
  readonly #results: CheckResult[] = []
  #protocolErrors = 0
  #vmmBugs = 0
  #hypercalls = 0
  #passed = 0
  #failed = 0
  #stop: StopDecision | undefined
  #started = 0n
  #stoppedAt = 0n
  #window: { exits: number; at: bigint; stopExits: number } | undefined
  #finish: (() => void) | undefined
  readonly #timers: ReturnType<typeof setTimeout>[] = []
  /** vCPU threads that have entered their run loop; the guest's bounds start with the last one. */
  #ready = 0

  private constructor(config: MachineOptions, out: MachineOutput, input?: ConsoleInputSource) {
    this.#config = config
    this.#out = out
    const built = buildVm(config)
    this.#kvm = built.kvm
    this.#vm = built.vm
    this.#memory = built.memory
    this.#delivery = built.delivery
    this.#width = built.image.width
    this.#threads = new VcpuThreads(built.vm, built.vcpus)
    this.#platform = built.linux ? createPlatformState() : undefined
    try {
      this.#xen = new XenDomain(
        domainOptions(config, built, this.#threads, out, {
          shutdown: (reason, vcpu) => this.#guestShutdown(reason, vcpu),
          bug: (m) => {
            this.#vmmBugs++
            out.log('warn', `tsvmm bug: ${m}`)
          },
          consoleInput: input,
        }),
      )
    } catch (e) {
      this.#vm.close()
      this.#kvm.close()
      throw e instanceof VmmError ? e : kvmFailure('setting up the VM', e)
    }
  }

  /**
   * Runs `config` to the end: resolves with the outcome (it never rejects for guest or VM
   * failures; a VmmError only when the VM cannot be set up). `abort` stops it; `input`: hvc0's.
   */
  static async run(
    config: MachineOptions,
    out: MachineOutput,
    abort?: AbortSignal,
    input?: ConsoleInputSource,
  ): Promise<RunOutcome> {
    const m = new Machine(config, out, input)
    return m.#run(abort)
  }

  #run(abort?: AbortSignal): Promise<RunOutcome> {
    const done = new Promise<void>((resolve) => {
      this.#finish = resolve
    })
    this.#started = process.hrtime.bigint()
    for (let i = 0; i < this.#config.vcpus; i++) this.#consoles.push(new ConsoleLines())
    this.#threads.start(
      {
        message: (m) => this.#onMessage(m),
        failed: (i, e) =>
          this.stop('vm-error', `vCPU ${i} thread failed: ${e.message}`, EXIT.INTERNAL),
        gone: (i, code) => this.#threadGone(i, code),
        forced: (i, ms) =>
          this.#out.log(
            'warn',
            `vCPU ${i} did not leave KVM_RUN in ${ms} ms: terminating its thread`,
          ),
      },
      this.#config.logLevel === 'debug',
      this.#platform,
    )
    if (abort !== undefined) {
      if (abort.aborted) this.stop('signal', 'stopped by a signal', EXIT.SIGINT)
      abort.addEventListener('abort', () => {
        const sig = abort.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'
        // SIGTERM asks a guest with xenbus to power off, as `xl shutdown` does; the run then
        // ends with the guest's own power-off (a second signal still stops it at once).
        if (sig === 'SIGTERM' && this.#askShutdown('SIGTERM')) return
        this.stop('signal', `stopped by ${sig}`, sig === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT)
      })
    }
    this.#armTimers()
    return done.then(() => this.#outcome())
  }

  /**
   * --timeout and --watchdog bound the guest, so they start when every vCPU thread is in its run
   * loop: starting a worker (loading the addon and modules) takes seconds on a slow (emulated)
   * host, and that time is neither the guest's nor a sign it stopped answering. A thread that
   * never gets there fails or exits, which stops the VM.
   */
  #armGuestBounds(): void {
    const c = this.#config
    this.#out.log(
      'debug',
      `vCPU threads ready ${Number(process.hrtime.bigint() - this.#started) / 1e6} ms after start`,
    )
    const arm = (ms: number, f: () => void) => this.#timers.push(setTimeout(f, ms))
    const timeout = `the guest did not finish within ${c.timeoutSec} s`
    if (c.timeoutSec > 0)
      arm(c.timeoutSec * 1000, () =>
        this.stop('timeout', `${timeout}${this.#exitsSoFar()}`, EXIT.VM_FAILED),
      )
    const after = c.shutdownAfterSec ?? 0
    const noWatcher = 'the guest has no xenbus shutdown watcher (control/feature-poweroff unset)'
    if (after > 0)
      arm(after * 1000, () => {
        if (!this.#askShutdown(`--shutdown-after ${after}`))
          this.stop('timeout', `--shutdown-after ${after}: ${noWatcher}`, EXIT.VM_FAILED)
      })
    if (c.watchdogSec > 0) {
      let last = -1
      let quietSince = Date.now()
      const t = setInterval(() => {
        const exits = this.#threads.exitCount()
        if (exits !== last) {
          last = exits
          quietSince = Date.now()
        } else if (Date.now() - quietSince >= c.watchdogSec * 1000) {
          this.stop(
            'watchdog',
            `the guest stopped answering: no vCPU exited to tsvmm for ${c.watchdogSec} s${this.#exitsSoFar()}`,
            EXIT.VM_FAILED,
          )
        }
      }, 250)
      this.#timers.push(t)
    }
  }

  #armTimers(): void {
    const c = this.#config
    if (c.measureAfterMs !== undefined)
      this.#timers.push(
        setTimeout(() => {
          this.#window = {
            exits: this.#threads.exitCount(),
            at: process.hrtime.bigint(),
            stopExits: 0,
          }
        }, c.measureAfterMs),
      )
    if (c.durationMs !== undefined)
      this.#timers.push(
        setTimeout(
          () => this.stop('duration', `ran for ${c.durationMs} ms`, EXIT.OK),
          c.durationMs,
        ),
      )
    if (this.#platform !== undefined) {
      const ring = serialReader(this.#platform)
      this.#timers.push(setInterval(() => this.#drainSerial(ring.drain()), 10))
      this.#drainSerialAtEnd = () => this.#drainSerial(ring.drain())
    }
    // The backends' eventfds are watched on this loop (a guest's send is served on its next
    // turn); this tick is for what no eventfd signals: console output a guest wrote without a
    // kick, and input waiting for room in the ring. It also drains the eventfds, which is cheap.
    this.#timers.push(setInterval(() => this.#xen.pollBackend(), 10))
  }

  #drainSerialAtEnd: (() => void) | undefined

  #drainSerial(bytes: Uint8Array): void {
    for (const line of this.#serial.push(bytes)) this.#out.serial(line)
  }

  /** " (N exits so far)": where a guest that will not stop is, while its vCPUs still run. */
  #exitsSoFar(): string {
    return ` (${this.#threads.exitCount()} exits so far)`
  }

  /** Stops the VM: every vCPU thread leaves KVM_RUN; the first reason given wins. */
  stop(reason: StopReason, message: string, exitCode: ExitCode): void {
    if (this.#stop !== undefined) return
    this.#stop = { reason, message, exitCode }
    this.#stoppedAt = process.hrtime.bigint()
    if (this.#window !== undefined) this.#window.stopExits = this.#threads.exitCount()
    for (const t of this.#timers) clearTimeout(t)
    this.#threads.stop()
    if (this.#threads.running === 0) this.#cleanup()
  }

  #threadGone(i: number, code: number): void {
    if (this.#stop === undefined)
      this.stop(
        'vm-error',
        `vCPU ${i} thread ended unexpectedly (exit code ${code})`,
        EXIT.INTERNAL,
      )
    if (this.#threads.running === 0) this.#cleanup()
  }

  #cleanup(): void {
    if (this.#finish === undefined) return
    const finish = this.#finish
    this.#finish = undefined
    for (const c of this.#consoles.entries()) {
      const rest = c[1].flush()
      if (rest !== undefined) this.#out.console(c[0], rest)
    }
    this.#drainSerialAtEnd?.()
    const serialRest = this.#serial.flush()
    if (serialRest !== undefined) this.#out.serial(serialRest)
    const stop = this.#stop
    if (
      stop !== undefined &&
      (stop.reason === 'timeout' || stop.reason === 'watchdog' || stop.reason === 'signal')
    ) {
      // Every vCPU thread is out of KVM_RUN now: say where a guest that would not stop (or one
      // stopped from outside, such as a boot harness giving up on it) was.
      const where = this.#threads.whereabouts()
      stop.message = `${stop.message}; ${where.join(', ')}`
    }
    const errors = this.#xen.dispose()
    this.#threads.close()
    for (const e of errors) this.#out.log('warn', e)
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
    const { exitCode, message } = runVerdict(stop, failed, this.#vmmBugs)
    return {
      exitCode,
      reason: stop.reason,
      message,
      delivery: this.#delivery,
      width: this.#width,
      results: [...this.#results],
      passed,
      failed,
      vmmBugs: this.#vmmBugs,
      hypercalls: this.#hypercalls,
      exits: this.#threads.exitCount(),
      runMs: Number((this.#stoppedAt || process.hrtime.bigint()) - this.#started) / 1e6,
      ...(this.#window !== undefined && {
        window: {
          exits: this.#window.stopExits - this.#window.exits,
          ms: Number(this.#stoppedAt - this.#window.at) / 1e6,
        },
      }),
    }
  }

  /**
   * Writes control/shutdown = poweroff for the guest's xenbus; true if the guest said it acts on
   * it (control/feature-poweroff = 1), so the run waits for its power-off.
   */
  #askShutdown(why: string): boolean {
    if (this.#stop !== undefined) return false
    const heard = this.#xen.requestShutdown('poweroff')
    if (heard) this.#out.log('info', `${why}: asked the guest to power off (control/shutdown)`)
    return heard
  }

  #guestShutdown(reason: number, vcpu: number): void {
    const d = guestShutdownStop(reason, vcpu)
    this.stop(d.reason, d.message, d.exitCode)
  }

  #onMessage(m: VcpuMessage): void {
    switch (m.t) {
      case 'ready':
        if (++this.#ready === this.#config.vcpus && this.#stop === undefined) this.#armGuestBounds()
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
        this.#hypercalls++
        const r = this.#xen.hypercall(
          { input: m.input, params: m.params, longMode: m.longMode, cpl: m.cpl },
          { vcpu: m.vcpu, paging: m.paging },
        )
        this.#threads.answer(m.vcpu, resultToRax(r), true)
        return
      }
      case 'backend': {
        const req = readBackendRequest(this.#memory, m.gpa)
        if (typeof req === 'string') {
          this.#protocolErrors++
          this.#out.log('warn', `vCPU ${m.vcpu}: ${req}`)
        } else {
          writeBackendReply(this.#memory, m.gpa, this.#xen.backend(req))
        }
        this.#threads.answer(m.vcpu, 0n, true)
        return
      }
      case 'platform': {
        const d = platformStop(m.event, m.vcpu, this.#config.noReboot)
        this.stop(d.reason, d.message, d.exitCode)
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
    // Linux's last resort to reboot is a triple fault (arch/x86/kernel/reboot.c, BOOT_TRIPLE).
    const d =
      this.#platform !== undefined && s.kind === 'triple-fault'
        ? platformStop('reset', vcpu, this.#config.noReboot)
        : vcpuStopStop(vcpu, s)
    if (d !== undefined) this.stop(d.reason, d.message, d.exitCode)
  }
}
