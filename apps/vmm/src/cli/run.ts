// `tsvmm run`: boots the configured guest, with `input` (a terminal) feeding its hvc0, and reports
// its checks and how it ended.

import { Machine } from '../machine.js'
import type { ConsoleInputSource } from '../xen/console.js'
import type { RunConfig } from './config.js'
import { reportOutcome, runOutput, type Streams } from './report.js'

/** Runs one VM to the end; returns the process exit code. */
export async function runCommand(
  config: RunConfig,
  streams: Streams,
  abort?: AbortSignal,
  input?: ConsoleInputSource,
): Promise<number> {
  const out = runOutput(streams, config)
  try {
    const outcome = await Machine.run(config, out, abort, input)
    reportOutcome(streams, outcome, config.json)
    return outcome.exitCode
  } finally {
    input?.detach()
    await out.close()
  }
}
