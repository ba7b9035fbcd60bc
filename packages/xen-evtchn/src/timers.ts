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

/**
 * The one limit on every time the timers hold (deadlines and periods, in ns): Xen's s_time_t is
 * a signed 64-bit count, so no Xen time exceeds 2^63. Times are JS numbers: exact up to 2^53 ns
 * (104 days of uptime), beyond that rounded to the nearest double (relative error below 2^-52,
 * under a microsecond a year), and always integers. snapshot.ts checks records against the same
 * limit, so whatever a guest can make the timers hold can be snapshotted and restored.
 */
export const MAX_TIME_NS = 2 ** 63
/** Periods below 1 ms are refused (VCPUOP_set_periodic_timer: `period_ns < MILLISECS(1)`). */
export const MIN_PERIOD_NS = 1_000_000
/** STIME_DELTA_MAX (2^62 - 1): the largest period VCPUOP_set_periodic_timer accepts. */
const STIME_DELTA_MAX = 2n ** 62n - 1n
/** The largest period the timers hold: STIME_DELTA_MAX as a number (2^62). */
export const MAX_PERIOD_NS = Number(STIME_DELTA_MAX)
/** do_set_timer_op's Linux workaround: a timeout 2^50 ns (about 13 days) or more ahead... */
const FAR_FUTURE_NS = 2n ** 50n
/** ...or wrapped negative is replaced by a tick 100 ms from now (Xen and KVM alike). */
const HUGE_TIMEOUT_DELAY_NS = 100_000_000

/** A time as the timers hold it: an integer clamped to 0 .. MAX_TIME_NS. */
function clampTime(t: number): number {
  if (!(t > 0)) return 0
  return t >= MAX_TIME_NS ? MAX_TIME_NS : Math.floor(t)
}

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
      // setTimeout runs on host time, the deadline is on `now`'s clock: they drift apart (a
      // paused VM's kvmclock stands still), so each wake-up reads `now` again and waits for the
      // rest instead of firing early. Never fires synchronously inside schedule().
      const arm = () => {
        const ms = Math.max(0, Math.ceil((deadlineNs - now()) / 1e6))
        h.timer = setTimeout(wake, Math.min(ms, MAX_DELAY_MS))
        h.timer.unref?.()
      }
      const wake = () => {
        if (now() < deadlineNs) arm()
        else fire()
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

  /** Xen system time now, as the timers hold times (see {@link MAX_TIME_NS}). */
  #now(): number {
    return clampTime(this.#clock.now())
  }

  /**
   * HYPERVISOR_set_timer_op(timeout) for `vcpu` (do_set_timer_op): 0 stops the singleshot timer;
   * a timeout that is negative as s64, or 2^50 ns or more ahead, is replaced by a tick 100 ms from
   * now (Xen's Linux workaround, which KVM copies); a past timeout fires at once; otherwise the
   * timer is armed at `timeout`. Always 0.
   */
  setTimerOp(vcpu: number, timeout: bigint): number {
    const t = BigInt.asIntN(64, timeout)
    if (t === 0n) {
      this.stopSingleshot(vcpu)
      return 0
    }
    const now = this.#now()
    if (t < 0n || t - BigInt(now) >= FAR_FUTURE_NS) {
      this.#armSingleshot(vcpu, clampTime(now + HUGE_TIMEOUT_DELAY_NS))
      return 0
    }
    this.#armSingleshot(vcpu, clampTime(Number(t)))
    return 0
  }

  /**
   * VCPUOP_set_singleshot_timer: arms the timer at `timeoutAbsNs`; a deadline already passed (or
   * negative as s64, which Xen's set_timer treats as long past) fires at once. Returns 0.
   * `future` (VCPU_SSHOTTMR_future) is ignored, as current Xen (4.18+), KVM's in-kernel timer and
   * QEMU do: Linux sets it on deadlines that may already have passed, and -ETIME lost its tick.
   */
  setSingleshot(vcpu: number, timeoutAbsNs: bigint, _future: boolean): number {
    const t = BigInt.asIntN(64, timeoutAbsNs)
    this.#armSingleshot(vcpu, t < 0n ? this.#now() : clampTime(Number(t)))
    return 0
  }

  /** VCPUOP_stop_singleshot_timer (and set_timer_op(0)). */
  stopSingleshot(vcpu: number): void {
    if (this.#singleshot[vcpu] === null) return
    this.#clock.cancel(this.#singleshotHandle[vcpu])
    this.#singleshot[vcpu] = null
    this.#singleshotHandle[vcpu] = undefined
  }

  /**
   * VCPUOP_set_periodic_timer: first tick one period from now. 0, or -EINVAL for a period below
   * 1 ms or above STIME_DELTA_MAX, as Xen's do_vcpu_op.
   */
  setPeriodic(vcpu: number, periodNs: bigint): number {
    if (periodNs < BigInt(MIN_PERIOD_NS) || periodNs > STIME_DELTA_MAX) return -XenErrno.EINVAL
    this.stopPeriodic(vcpu)
    const period = Number(periodNs)
    this.#period[vcpu] = period
    this.#armPeriodic(vcpu, clampTime(this.#now() + period))
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
      // One tick however late the clock ran: ticks already missed are skipped, as Xen's
      // vcpu_periodic_timer_work does. Xen restarts the period from now; we keep the grid of
      // the first deadline instead, because host timers fire up to a millisecond late every
      // time and re-phasing would slow the guest's tick rate by that much.
      const now = this.#now()
      let next = deadline + period
      if (next <= now) next = now + period - ((now - deadline) % period)
      this.#armPeriodic(vcpu, clampTime(next))
    })
  }

  #fireNow(vcpu: number): void {
    this.#fire(vcpu)
  }
}
