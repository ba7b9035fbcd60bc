// A byte ring in shared memory from the vCPU threads (producers, already serialized by the
// device lock) to the main thread (the one consumer), so serial output keeps the order the guest
// wrote it in whichever vCPU wrote it. A full ring makes the producer wait for the consumer.

const HEAD = 0
const TAIL = 1
const WORDS = 2

/** A single-consumer byte ring over a SharedArrayBuffer. */
export class ByteRing {
  readonly #ctl: Int32Array
  readonly #data: Uint8Array
  readonly #capacity: number

  /** A new ring's buffer for `capacity` bytes (a power of two). */
  static buffer(capacity: number): SharedArrayBuffer {
    if (capacity < 16 || (capacity & (capacity - 1)) !== 0)
      throw new RangeError('ring capacity must be a power of two >= 16')
    return new SharedArrayBuffer(4 * WORDS + capacity)
  }

  constructor(buffer: SharedArrayBuffer) {
    this.#ctl = new Int32Array(buffer, 0, WORDS)
    this.#data = new Uint8Array(buffer, 4 * WORDS)
    this.#capacity = this.#data.length
  }

  /** Appends one byte; waits (up to `maxWaitMs`) while the ring is full, then drops it. */
  push(byte: number, maxWaitMs = 1000): boolean {
    const tail = Atomics.load(this.#ctl, TAIL)
    const deadline = Date.now() + maxWaitMs
    while (((tail - Atomics.load(this.#ctl, HEAD)) | 0) >= this.#capacity) {
      if (Date.now() >= deadline) return false
      Atomics.wait(this.#ctl, HEAD, Atomics.load(this.#ctl, HEAD), 1)
    }
    this.#data[tail & (this.#capacity - 1)] = byte
    Atomics.store(this.#ctl, TAIL, (tail + 1) | 0)
    return true
  }

  /** Takes everything written so far (the consumer's side). */
  drain(): Uint8Array {
    const head = Atomics.load(this.#ctl, HEAD)
    const tail = Atomics.load(this.#ctl, TAIL)
    const n = (tail - head) | 0
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.#data[(head + i) & (this.#capacity - 1)] as number
    Atomics.store(this.#ctl, HEAD, tail)
    Atomics.notify(this.#ctl, HEAD)
    return out
  }
}
