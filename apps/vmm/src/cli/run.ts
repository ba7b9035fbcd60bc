// `tsvmm run`: boots the configured guest and reports its checks and how it ended.

import { Machine } from '../machine.js'
import type { RunConfig } from './config.js'
import { reportOutcome, runOutput, type Streams } from './report.js'

/** Runs one VM to the end; returns the process exit code. */
export async function runCommand(
  config: RunConfig,
  streams: Streams,
  abort?: AbortSignal,
): Promise<number> {
  const out = runOutput(streams, config)
  try {
    const outcome = await Machine.run(config, out, abort)
    reportOutcome(streams, outcome, config.json)
    return outcome.exitCode
  } finally {
    await out.close()
  }
}
