// EventFd: an eventfd(2) to hand to KVM_IRQFD, KVM_IOEVENTFD and Xen EVTCHN eventfd delivery.
import { flag, invalid, object, u64, uint } from './args.js'
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

  /** close(2). Idempotent. */
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
