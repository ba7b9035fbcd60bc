// Terminal bytes on their way to the guest's hvc0: what `tsvmm run` reads from a terminal goes
// into the PV console's in ring (XenConsoleBackend.input), which holds 1 KiB. What does not fit
// waits here, in order, and is offered again when the guest may have read (the domain's 10 ms
// backend poll calls flush); nothing is dropped. So that a guest that never reads cannot make
// tsvmm hold a whole paste, reading stops (pause) past `limit` waiting bytes and starts again
// (resume) once half of them went in; the terminal keeps the rest meanwhile.
//
// The escape byte. In raw mode Ctrl-C is byte 0x03 and goes to the guest (its shell interrupts
// its own programs), so tsvmm needs another key to be left: Ctrl-] (0x1d), as `xl console` and
// telnet use, since it is not a key a shell or editor needs. Ctrl-] does what Ctrl-C did: the
// first stops the VM cleanly, the second exits at once. Bytes typed after it are not forwarded.

/** Ctrl-]: leave the console (stop the VM). */
export const CONSOLE_ESCAPE = 0x1d
/** Waiting bytes past which reading pauses. */
export const CONSOLE_INPUT_LIMIT = 64 * 1024

/** Where the bytes go: XenConsoleBackend's input(), which takes what fits and says how much. */
export interface ConsoleSink {
  input(bytes: Uint8Array): number
}

/** What the forwarder asks of the terminal side. */
export interface ConsoleInputHooks {
  /** Ctrl-] was typed. */
  escape(): void
  /** Stop reading: `limit` bytes are waiting for the guest. */
  pause(): void
  /** Read again. */
  resume(): void
}

/** Forwards typed bytes to a console, keeping what does not fit. */
export class ConsoleForwarder {
  readonly #hooks: ConsoleInputHooks
  readonly #limit: number
  #sink: ConsoleSink | undefined
  /** Chunks waiting, oldest first; the first may be partly sent already. */
  readonly #waiting: Uint8Array[] = []
  #waitingBytes = 0
  #paused = false
  #escaped = false

  constructor(hooks: ConsoleInputHooks, limit = CONSOLE_INPUT_LIMIT) {
    this.#hooks = hooks
    this.#limit = limit
  }

  /** Bytes not yet in the guest's ring. */
  get waiting(): number {
    return this.#waitingBytes
  }

  /** The console is up: what was typed before goes in first. */
  attach(sink: ConsoleSink): void {
    this.#sink = sink
    this.flush()
  }

  /** The console is gone: nothing more is offered (the guest cannot read it any more). */
  detach(): void {
    this.#sink = undefined
  }

  /** Bytes read from the terminal. */
  write(chunk: Uint8Array): void {
    const at = chunk.indexOf(CONSOLE_ESCAPE)
    const keep = this.#escaped ? 0 : at < 0 ? chunk.length : at
    if (keep > 0) {
      // A copy: the stream may reuse its buffer.
      this.#waiting.push(chunk.slice(0, keep))
      this.#waitingBytes += keep
    }
    // What came before Ctrl-] goes in before the VM starts to stop.
    this.flush()
    if (at >= 0) {
      this.#escaped = true
      for (const b of chunk.subarray(at)) if (b === CONSOLE_ESCAPE) this.#hooks.escape()
    }
    if (!this.#paused && this.#waitingBytes > this.#limit) {
      this.#paused = true
      this.#hooks.pause()
    }
  }

  /** Offers what waits to the console, oldest first, until it takes less than offered. */
  flush(): void {
    const sink = this.#sink
    while (sink !== undefined && this.#waiting.length > 0) {
      const head = this.#waiting[0] as Uint8Array
      const n = sink.input(head)
      // input() never takes more than offered; a sink that claims to is read as "all of it".
      const taken = Math.max(0, Math.min(n, head.length))
      this.#waitingBytes -= taken
      if (taken === head.length) this.#waiting.shift()
      else {
        this.#waiting[0] = head.subarray(taken)
        break
      }
    }
    if (this.#paused && this.#waitingBytes <= this.#limit / 2) {
      this.#paused = false
      this.#hooks.resume()
    }
  }
}
