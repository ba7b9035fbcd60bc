// tsvmm: the command-line program. Parses the arguments, runs the command and maps every failure to
// a one-line message and an exit code (errors.ts). Ctrl-C stops a running VM cleanly; a second
// Ctrl-C exits at once. When stdin is a terminal and the guest has a PV console, the terminal is
// the guest's (terminal.ts): Ctrl-C goes to the guest, and Ctrl-] takes over Ctrl-C's job.
import { readFileSync } from 'node:fs'
import { EXIT, VmmError } from '../errors.js'
import { parseCommand } from './args.js'
import { capsCommand } from './caps-command.js'
import { demoCommand } from './demo.js'
import { processStreams, type Streams } from './report.js'
import { runCommand } from './run.js'
import { TerminalConsole } from './terminal.js'
import { USAGE } from './usage.js'

/** Runs `tsvmm` with `argv` (no node, no script) and returns the exit code. */
export async function main(
  argv: readonly string[],
  streams: Streams = processStreams,
): Promise<number> {
  try {
    const cmd = parseCommand(argv)
    switch (cmd.kind) {
      case 'help':
        streams.stdout(`${USAGE[cmd.topic]}\n`)
        return EXIT.OK
      case 'version': {
        const pkg = JSON.parse(
          readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
        ) as { version: string }
        streams.stdout(`tsvmm ${pkg.version}\n`)
        return EXIT.OK
      }
      case 'caps':
        return capsCommand(cmd.json, streams)
      case 'run': {
        const abort = new AbortController()
        let signals = 0
        const onSignal = (sig: NodeJS.Signals) => {
          signals++
          if (signals > 1) process.exit(sig === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT)
          abort.abort(sig)
        }
        process.on('SIGINT', onSignal)
        process.on('SIGTERM', onSignal)
        const terminal = process.stdin.isTTY
          ? new TerminalConsole(
              process.stdin,
              () => onSignal('SIGINT'),
              (text) => streams.stderr(`tsvmm: ${text}\n`),
            )
          : undefined
        try {
          return await runCommand(cmd.config, streams, abort.signal, terminal)
        } finally {
          terminal?.close()
          process.off('SIGINT', onSignal)
          process.off('SIGTERM', onSignal)
        }
      }
      case 'demo':
        return await demoCommand(cmd.options, streams)
    }
  } catch (e) {
    if (e instanceof VmmError) {
      streams.stderr(`tsvmm: ${e.message}\n`)
      if (e.hint) streams.stderr(`tsvmm: hint: ${e.hint}\n`)
      return e.exitCode
    }
    streams.stderr(
      `tsvmm: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    )
    return EXIT.INTERNAL
  }
}
