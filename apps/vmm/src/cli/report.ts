// How `tsvmm run` shows a run: guest console lines, check results (text or JSON lines), tsvmm's
// own log filtered by level, and the closing lines. All writes go through a Streams object so
// tests can capture them.
import { createWriteStream, openSync, type WriteStream } from 'node:fs'
import { getSystemErrorMap } from 'node:util'
import type { CheckResult } from '../devices/guest-protocol.js'
import { VmmError } from '../errors.js'
import type { MachineOutput, RunOutcome } from '../machine.js'
import type { ConsoleTarget, LogLevel } from './config.js'

/** Where text goes. */
export interface Streams {
  stdout(text: string): void
  stderr(text: string): void
}

/** The process's own streams. */
export const processStreams: Streams = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
}

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 }

/** One result as a text line: `PASS vcpu0 ipi: message`. */
export function formatResult(r: CheckResult): string {
  return `${r.passed ? 'PASS' : 'FAIL'} vcpu${r.vcpu} ${r.name}${r.message ? `: ${r.message}` : ''}`
}

/** A MachineOutput that prints to `streams` as the run's options say. Call close() at the end. */
export function runOutput(
  streams: Streams,
  options: { console: ConsoleTarget; logLevel: LogLevel; json: boolean; vcpus: number },
): MachineOutput & { close(): Promise<void> } {
  let file: WriteStream | undefined
  if (typeof options.console === 'object') {
    const path = options.console.file
    file = createWriteStream(path, { fd: openConsoleFile(path) })
    // A write that fails later (a full disk) is reported once; the run goes on.
    file.once('error', (e) => streams.stderr(`tsvmm: warn: console file ${path}: ${fsReason(e)}\n`))
  }
  // hvc0's bytes are passed on as written; UTF-8 split across two ring drains stays whole.
  const hvcText = new TextDecoder('utf-8')
  const prefix = (vcpu: number) => (options.vcpus > 1 ? `[vcpu${vcpu}] ` : '')
  return {
    console(vcpu, line) {
      const text = `${prefix(vcpu)}${line}\n`
      if (options.console === 'stdout') {
        if (options.json) streams.stdout(`${JSON.stringify({ type: 'console', vcpu, line })}\n`)
        else streams.stdout(text)
      } else if (options.console === 'stderr') streams.stderr(text)
      else if (file !== undefined) file.write(text)
    },
    serial(line) {
      const text = `${line}\n`
      if (options.console === 'stdout') {
        if (options.json) streams.stdout(`${JSON.stringify({ type: 'serial', line })}\n`)
        else streams.stdout(text)
      } else if (options.console === 'stderr') streams.stderr(text)
      else if (file !== undefined) file.write(text)
    },
    hvc(bytes) {
      const text = hvcText.decode(bytes, { stream: true })
      if (options.console === 'stdout') {
        if (options.json) streams.stdout(`${JSON.stringify({ type: 'hvc', text })}\n`)
        else streams.stdout(text)
      } else if (options.console === 'stderr') streams.stderr(text)
      else if (file !== undefined) file.write(bytes)
    },
    result(r) {
      if (options.json) streams.stdout(`${JSON.stringify({ type: 'result', ...r })}\n`)
      else streams.stdout(`${formatResult(r)}\n`)
    },
    log(level, message) {
      if (LEVELS[level] <= LEVELS[options.logLevel])
        streams.stderr(
          `tsvmm: ${level === 'warn' || level === 'error' ? `${level}: ` : ''}${message}\n`,
        )
    },
    close() {
      return new Promise((resolve) => {
        if (file === undefined) resolve()
        else file.end(() => resolve())
      })
    },
  }
}

// Opened before the VM is built, so that a path that cannot be written is a usage error (exit 2)
// and not an 'error' event on a stream nobody listens to.
function openConsoleFile(path: string): number {
  try {
    return openSync(path, 'a')
  } catch (e) {
    throw new VmmError('config', `console file ${path}: cannot open it: ${fsReason(e)}`)
  }
}

/** "no such file or directory (ENOENT)" for a failed fs call. */
function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException
  if (typeof err.errno !== 'number' || err.code === undefined) return String(err.message ?? e)
  const text = getSystemErrorMap().get(err.errno)?.[1]
  return text === undefined ? err.code : `${text} (${err.code})`
}

/** The closing lines of a run. */
export function reportOutcome(streams: Streams, o: RunOutcome, json: boolean): void {
  if (json) {
    const { results: _results, ...rest } = o
    streams.stdout(`${JSON.stringify({ type: 'end', ...rest })}\n`)
    return
  }
  streams.stderr(
    `tsvmm: ${o.message} [${o.width}-bit guest, ${o.delivery} delivery, ${o.exits} exits, exit code ${o.exitCode}]\n`,
  )
  if (o.passed + o.failed > 0) streams.stdout(`${o.passed} passed, ${o.failed} failed\n`)
}
