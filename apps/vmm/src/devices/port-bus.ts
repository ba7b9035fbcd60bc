// The port-I/O bus of the emulated platform: devices claim port ranges, an access to a port no
// device claims reads all ones (an empty ISA bus floats high) and writes go nowhere. The bus is
// shared by every vCPU thread: device state lives in shared memory and each access runs under
// one lock, so two vCPUs see one device, in one order.
import type { SharedLock } from './shared-lock.js'

/** A device on the port bus. Offsets are relative to the range it was added at. */
export interface PortDevice {
  read(offset: number, size: 1 | 2 | 4): number
  write(offset: number, size: 1 | 2 | 4, value: number): void
}

interface Range {
  base: number
  length: number
  device: PortDevice
}

/** Port-I/O dispatch over a set of devices. */
export class PortBus {
  readonly #ranges: Range[] = []
  readonly #byPort = new Map<number, Range>()
  readonly #lock: SharedLock | undefined

  /** `lock`: shared by every thread that dispatches to the same devices (none: one thread). */
  constructor(lock?: SharedLock) {
    this.#lock = lock
  }

  /** Claims `[base, base + length)` for `device`; overlapping claims are a programming error. */
  add(base: number, length: number, device: PortDevice): void {
    if (
      !Number.isInteger(base) ||
      !Number.isInteger(length) ||
      length < 1 ||
      base < 0 ||
      base + length > 0x10000
    )
      throw new RangeError(`port range 0x${base.toString(16)}+${length} is not inside 0..0xffff`)
    for (let p = base; p < base + length; p++)
      if (this.#byPort.has(p)) throw new RangeError(`port 0x${p.toString(16)} is claimed twice`)
    const r = { base, length, device }
    this.#ranges.push(r)
    for (let p = base; p < base + length; p++) this.#byPort.set(p, r)
  }

  /** Whether a device claims `port`. */
  claims(port: number): boolean {
    return this.#byPort.has(port)
  }

  /** An IN of `size` bytes. */
  read(port: number, size: 1 | 2 | 4): number {
    const r = this.#byPort.get(port)
    const ones = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff
    if (r === undefined) return ones
    this.#lock?.acquire()
    try {
      return r.device.read(port - r.base, size) & ones
    } finally {
      this.#lock?.release()
    }
  }

  /** An OUT of `size` bytes. */
  write(port: number, size: 1 | 2 | 4, value: number): void {
    const r = this.#byPort.get(port)
    if (r === undefined) return
    this.#lock?.acquire()
    try {
      r.device.write(port - r.base, size, value)
    } finally {
      this.#lock?.release()
    }
  }
}
