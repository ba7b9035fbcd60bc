// Per-vCPU Xen timers that raise VIRQ_TIMER: the singleshot timer of set_timer_op and
// VCPUOP_set_singleshot_timer, and the periodic timer of VCPUOP_set_periodic_timer. Rules follow
// Xen's do_set_timer_op and do_vcpu_op (xen/common/sched/core.c, xen/common/domain.c). Time is
// the guest's Xen system time in nanoseconds, read from an injected clock.
import { XenErrno } from './errno.js'

/** The time source and scheduler timers run on. Tests inject a manual one. */
export interface EvtchnClock {
  /** Xen system time now, in nanoseconds (the guest's pvclock time). */
  now(): number
  /** Calls `fire` once at or after system time `deadlineNs`; returns a handle for `cancel`. */
  schedule(deadlineNs: number, fire: () => void): unknown
  /** Cancels a scheduled call; a no-op if it already ran. */
  cancel(handle: unknown): void
}

/** One vCPU's timer state, as a snapshot holds it. */
export interface TimerRecord {
  /** The vCPU the timers belong to. */
  vcpu: number
  /** Singleshot deadline (ns), or null when stopped. */
  singleshot: number | null
  /** Periodic period (ns), or null when stopped. */
  period: number | null
  /** Next periodic deadline (ns), or null when stopped. */
  periodicNext: number | null
}

/** Xen's "more than about 13 days ahead is a wrapped Linux jiffy" cut-off (2^50 ns). */
const FAR_FUTURE_NS = 2n ** 50n
/** Periods below 1 ms are refused (VCPUOP_set_periodic_timer). */
const MIN_PERIOD_NS = 1_000_000n
/** STIME_DELTA_MAX: the largest accepted period. */
const MAX_PERIOD_NS = 2n ** 62n - 1n

/**
 * A clock on the host's monotonic time: system time 0 is when the clock was made. Deadlines
 * beyond what one `setTimeout` can wait are reached in steps.
 */
export function monotonicClock(): EvtchnClock {
  const start = process.hrtime.bigint()
  return timeoutClock(() => Number(process.hrtime.bigint() - start))
}

/**
 * An engine clock that reads "now" (ns of Xen system time) from `now` and fires deadlines with
 * `setTimeout` (unref'd, so timers never keep a process alive). A VMM passes the VM's kvmclock so
 * that the guest's pvclock and VIRQ_TIMER agree.
 */
export function timeoutClock(now: () => number): EvtchnClock {
  /** setTimeout's limit; longer waits are taken in steps. */
  const MAX_DELAY_MS = 0x7fff_ffff
  interface Handle {
    timer: ReturnType<typeof setTimeout> | undefined
  }
  return {
    now,
    schedule(deadlineNs, fire) {
      const h: Handle = { timer: undefined }
      const arm = () => {
        const ms = Math.max(0, Math.ceil((deadlineNs - now()) / 1e6))
        h.timer = setTimeout(ms > MAX_DELAY_MS ? arm : fire, Math.min(ms, MAX_DELAY_MS))
        h.timer.unref?.()
      }
      arm()
      return h
    },
    cancel(handle) {
      const h = handle as Handle | undefined
      if (h?.timer !== undefined) clearTimeout(h.timer)
    },
  }
}

/** The singleshot and periodic timers of every vCPU. `fire(vcpu)` raises VIRQ_TIMER. */
export class VcpuTimers {
  readonly #clock: EvtchnClock
  readonly #fire: (vcpu: number) => void
  readonly #singleshot: (number | null)[]
  readonly #singleshotHandle: unknown[]
  readonly #period: (number | null)[]
  readonly #periodicNext: (number | null)[]
  readonly #periodicHandle: unknown[]

  constructor(clock: EvtchnClock, vcpus: number, fire: (vcpu: number) => void) {
    this.#clock = clock
    this.#fire = fire
    this.#singleshot = new Array<number | null>(vcpus).fill(null)
    this.#singleshotHandle = new Array<unknown>(vcpus).fill(undefined)
    this.#period = new Array<number | null>(vcpus).fill(null)
    this.#periodicNext = new Array<number | null>(vcpus).fill(null)
    this.#periodicHandle = new Array<unknown>(vcpus).fill(undefined)
  }

  /** The clock in use. */
  get clock(): EvtchnClock {
    return this.#clock
  }

  /**
   * HYPERVISOR_set_timer_op(timeout) for `vcpu` (do_set_timer_op): 0 stops the singleshot timer;
   * a timeout that is negative as s64, or more than 2^50 ns ahead, fires at once (Xen's Linux
   * workaround); a past timeout fires at once; otherwise the timer is armed. Always 0.
   */
  setTimerOp(vcpu: number, timeout: bigint): number {
    const t = BigInt.asIntN(64, timeout)
    if (t === 0n) {
      this.stopSingleshot(vcpu)
      return 0
    }
    const now = BigInt(this.#clock.now())
    if (t < 0n || t - now > FAR_FUTURE_NS) {
      this.stopSingleshot(vcpu)
      this.#fireNow(vcpu)
      return 0
    }
    this.#armSingleshot(vcpu, Number(t))
    return 0
  }

  /**
   * VCPUOP_set_singleshot_timer: arms the timer; a deadline already passed fires at once. Returns 0.
   * `future` (VCPU_SSHOTTMR_future) is ignored, as current Xen (4.18+), KVM's in-kernel timer and
   * QEMU do: Linux sets it on deadlines that may already have passed, and -ETIME lost its tick.
   */
  setSingleshot(vcpu: number, timeoutAbsNs: bigint, _future: boolean): number {
    const t = BigInt.asIntN(64, timeoutAbsNs)
    const now = BigInt(this.#clock.now())
    // A deadline beyond number precision is as good as never; clamp it to 2^53 ns (104 days).
    const deadline = t > 2n ** 53n ? 2 ** 53 : Number(t < 0n ? now : t)
    this.#armSingleshot(vcpu, deadline)
    return 0
  }

  /** VCPUOP_stop_singleshot_timer (and set_timer_op(0)). */
  stopSingleshot(vcpu: number): void {
    if (this.#singleshot[vcpu] === null) return
    this.#clock.cancel(this.#singleshotHandle[vcpu])
    this.#singleshot[vcpu] = null
    this.#singleshotHandle[vcpu] = undefined
  }

  /** VCPUOP_set_periodic_timer: first tick one period from now. 0, or -EINVAL for a bad period. */
  setPeriodic(vcpu: number, periodNs: bigint): number {
    if (periodNs < MIN_PERIOD_NS || periodNs > MAX_PERIOD_NS) return -XenErrno.EINVAL
    this.stopPeriodic(vcpu)
    const period = Number(periodNs)
    this.#period[vcpu] = period
    this.#armPeriodic(vcpu, this.#clock.now() + period)
    return 0
  }

  /** VCPUOP_stop_periodic_timer. */
  stopPeriodic(vcpu: number): void {
    if (this.#period[vcpu] === null) return
    this.#clock.cancel(this.#periodicHandle[vcpu])
    this.#period[vcpu] = null
    this.#periodicNext[vcpu] = null
    this.#periodicHandle[vcpu] = undefined
  }

  /** Stops every timer (engine teardown). */
  stopAll(): void {
    for (let v = 0; v < this.#singleshot.length; v++) {
      this.stopSingleshot(v)
      this.stopPeriodic(v)
    }
  }

  /** Timer state of every vCPU with a timer running. */
  records(): TimerRecord[] {
    const out: TimerRecord[] = []
    for (let v = 0; v < this.#singleshot.length; v++) {
      const singleshot = this.#singleshot[v] ?? null
      const period = this.#period[v] ?? null
      if (singleshot !== null || period !== null)
        out.push({ vcpu: v, singleshot, period, periodicNext: this.#periodicNext[v] ?? null })
    }
    return out
  }

  /** Re-arms a vCPU's timers from a snapshot record (past deadlines fire at once). */
  restore(r: TimerRecord): void {
    if (r.singleshot !== null) this.#armSingleshot(r.vcpu, r.singleshot)
    if (r.period !== null && r.periodicNext !== null) {
      this.#period[r.vcpu] = r.period
      this.#armPeriodic(r.vcpu, r.periodicNext)
    }
  }

  #armSingleshot(vcpu: number, deadline: number): void {
    this.stopSingleshot(vcpu)
    this.#singleshot[vcpu] = deadline
    this.#singleshotHandle[vcpu] = this.#clock.schedule(deadline, () => {
      this.#singleshot[vcpu] = null
      this.#singleshotHandle[vcpu] = undefined
      this.#fireNow(vcpu)
    })
  }

  #armPeriodic(vcpu: number, deadline: number): void {
    this.#periodicNext[vcpu] = deadline
    this.#periodicHandle[vcpu] = this.#clock.schedule(deadline, () => {
      const period = this.#period[vcpu]
      if (period === null || period === undefined) return
      this.#fireNow(vcpu)
      // Next tick one period after the last deadline; skip ticks already missed (Xen's
      // vcpu_periodic_timer_work catches up the same way).
      const now = this.#clock.now()
      let next = deadline + period
      if (next <= now) next = now + period - ((now - deadline) % period)
      this.#armPeriodic(vcpu, next)
    })
  }

  #fireNow(vcpu: number): void {
    this.#fire(vcpu)
  }
}
