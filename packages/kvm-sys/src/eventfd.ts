// EventFd: an eventfd(2) to hand to KVM_IRQFD, KVM_IOEVENTFD and Xen EVTCHN eventfd delivery.
import { flag, invalid, object, u64, uint } from './args.js'
import { KvmError } from './errors.js'
import { loadNative, type NativeEventFd } from './native.js'

// An eventfd counter stops at 2^64 - 2 (a write that would pass it blocks or fails EAGAIN).
const EVENTFD_MAX = (1n << 64n) - 2n

/** Options of EventFd.create. */
export interface EventFdOptions {
  /** The initial counter (default 0). */
  initval?: number
  /** EFD_NONBLOCK (default true): read() returns null instead of blocking on 0. */
  nonBlocking?: boolean
  /** EFD_SEMAPHORE (default false): each read() takes 1 instead of the whole counter. */
  semaphore?: boolean
}

/** An eventfd. Its fd is closed by close() or when the object is collected. */
export class EventFd {
  readonly #native: NativeEventFd

  private constructor(native: NativeEventFd) {
    this.#native = native
  }

  /** eventfd(2) with EFD_CLOEXEC (and EFD_NONBLOCK unless `nonBlocking` is false). */
  static create(options: EventFdOptions = {}): EventFd {
    const S = 'eventfd'
    const {
      initval = 0,
      nonBlocking = true,
      semaphore = false,
    } = object<EventFdOptions>(S, 'options', options)
    return new EventFd(
      loadNative().createEventFd(
        uint(S, 'initval', initval),
        flag(S, 'nonBlocking', nonBlocking),
        flag(S, 'semaphore', semaphore),
      ),
    )
  }

  /** The file descriptor number (for irqfd / ioeventfd); -1 once closed. */
  get fd(): number {
    return this.#native.fd
  }

  /** True once close() ran. */
  get closed(): boolean {
    return this.#native.fd < 0
  }

  /** read(2): the counter (reset to 0), or null when it is 0 and the fd is non-blocking. */
  read(): bigint | null {
    return this.#native.read()
  }

  /** write(2): adds `value` (default 1; at most 2^64 - 2) to the counter. */
  write(value: bigint | number = 1n): void {
    if (typeof value === 'bigint' && value < 0n) throw invalid('write', 'value', value, 'a u64')
    const v = u64('write', 'value', value)
    if (v > EVENTFD_MAX) throw invalid('write', 'value', value, 'at most 2^64 - 2')
    this.#native.write(v)
  }

  /**
   * Calls `onSignal(count)` on this thread's event loop whenever the counter becomes non-zero,
   * with the counter it read (and so reset to 0). This is how a device model hears, with no
   * polling delay, the eventfd KVM signals: a guest's EVTCHNOP_send on a port assigned with
   * KVM_XEN_ATTR_TYPE_EVTCHN, or an ioeventfd. Signals that come while the loop is busy coalesce
   * into one call, as events do.
   *
   * The watch does not keep the process alive (like an unref'd timer); it ends with unwatch() or
   * close(). An exception thrown by `onSignal` is the process's uncaught exception, as from a
   * socket's handler. Throws KvmError EBUSY if already watched, EBADF once closed, EINVAL for a
   * blocking eventfd (a read on it could stall the loop).
   *
   * ```ts
   * const fd = EventFd.create()
   * fd.watch((count) => console.log(`signalled ${count} times`))
   * fd.write(2) // prints "signalled 2 times" on the next turn of the loop
   * ```
   */
  watch(onSignal: (count: bigint) => void): void {
    if (typeof onSignal !== 'function')
      throw invalid('watch', 'onSignal', onSignal, 'a function (count: bigint) => void')
    this.#native.watch((status) => {
      if (status < 0) {
        this.unwatch()
        throw new KvmError(-status, 'uv_poll', `eventfd ${this.fd} watch failed`)
      }
      const count = this.#native.read()
      if (count !== null) onSignal(count)
    })
  }

  /** Ends the watch, if any. Idempotent. */
  unwatch(): void {
    this.#native.unwatch()
  }

  /** True while watch() calls back. */
  get watching(): boolean {
    return this.#native.watching
  }

  /** close(2), after ending any watch. Idempotent. */
  close(): void {
    this.#native.close()
  }
}

/** An EventFd or a raw fd number. */
export type FdLike = EventFd | number

/** The fd number of an EventFd or a number. */
export function fdOf(f: FdLike): number {
  return typeof f === 'number' ? f : f.fd
}
