// A mutex over one Int32 word of shared memory, for device state that several vCPU threads
// touch. Critical sections are a few register updates, so waiting is a short Atomics.wait.
const FREE = 0
const HELD = 1
const CONTENDED = 2

/** A lock that threads sharing `word`'s buffer take in turn. */
export class SharedLock {
  readonly #word: Int32Array
  readonly #index: number

  constructor(word: Int32Array, index = 0) {
    this.#word = word
    this.#index = index
  }

  acquire(): void {
    let c = Atomics.compareExchange(this.#word, this.#index, FREE, HELD)
    if (c === FREE) return
    // Drepper's three-state mutex ("Futexes are tricky"): mark contended, then sleep.
    if (c !== CONTENDED) c = Atomics.exchange(this.#word, this.#index, CONTENDED)
    while (c !== FREE) {
      Atomics.wait(this.#word, this.#index, CONTENDED, 10)
      c = Atomics.exchange(this.#word, this.#index, CONTENDED)
    }
  }

  release(): void {
    if (Atomics.sub(this.#word, this.#index, 1) !== HELD) {
      Atomics.store(this.#word, this.#index, FREE)
      Atomics.notify(this.#word, this.#index, 1)
    }
  }
}
