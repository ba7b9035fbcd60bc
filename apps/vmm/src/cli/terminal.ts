// The terminal side of hvc0 input: when stdin is a terminal and the guest has a PV console, the
// terminal goes into raw mode (no line editing, no echo, Ctrl-C a byte for the guest) and what is
// typed goes to the console through a ConsoleForwarder (console-input.ts, which also says why
// Ctrl-] is the way out). The terminal is restored on every way out: the console detaching at the
// end of the run, close() from the command's finally, and process exit (a second Ctrl-] or
// signal calls process.exit). Only a SIGKILL can leave it raw (`stty sane` or `reset` fix that).
import type { ReadStream } from 'node:tty'
import type { ConsoleInputSource } from '../xen/console.js'
import { ConsoleForwarder } from './console-input.js'

/** A terminal feeding the guest's console. */
export class TerminalConsole implements ConsoleInputSource {
  readonly #stdin: ReadStream
  readonly #forwarder: ConsoleForwarder
  readonly #note: (text: string) => void
  #raw = false
  readonly #onData = (chunk: Buffer) => this.#forwarder.write(chunk)
  readonly #restore = () => this.close()

  /** `onEscape` runs on each Ctrl-]; `note` prints one line of tsvmm's own. */
  constructor(stdin: ReadStream, onEscape: () => void, note: (text: string) => void) {
    this.#stdin = stdin
    this.#note = note
    this.#forwarder = new ConsoleForwarder({
      escape: onEscape,
      pause: () => stdin.pause(),
      resume: () => stdin.resume(),
    })
  }

  /** The guest's console is up: raw mode, and keystrokes go to it. */
  attach(console: { input(bytes: Uint8Array): number }): void {
    if (this.#raw) return
    try {
      this.#stdin.setRawMode(true)
    } catch (e) {
      // Not fatal: the guest runs, only without input.
      this.#note(`stdin stays unconnected to hvc0: raw mode failed: ${String(e)}`)
      return
    }
    this.#raw = true
    process.once('exit', this.#restore)
    this.#stdin.on('data', this.#onData)
    this.#stdin.resume()
    this.#forwarder.attach(console)
    this.#note('stdin goes to the guest (hvc0); Ctrl-] stops the VM, twice stops it at once')
  }

  retry(): void {
    this.#forwarder.flush()
  }

  detach(): void {
    this.close()
  }

  /** Restores the terminal and stops reading; safe to call more than once. */
  close(): void {
    this.#forwarder.detach()
    if (!this.#raw) return
    this.#raw = false
    process.off('exit', this.#restore)
    this.#stdin.off('data', this.#onData)
    // Paused, stdin no longer keeps the process alive.
    this.#stdin.pause()
    try {
      this.#stdin.setRawMode(false)
    } catch {
      // The terminal is gone (hung up): nothing to restore.
    }
  }
}
