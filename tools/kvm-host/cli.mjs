#!/usr/bin/env node
// kvm-host: runs a command as root on a host with /dev/kvm. Where /dev/kvm opens it runs the
// command here; elsewhere it boots an emulated AMD host (QEMU TCG with SVM, kvm_amd loaded) with
// this repository at the same path. See README.md for options, exit codes and how it works.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, USAGE } from './lib/args.mjs'
import { kvmUsable, localKvmFits, runDirect } from './lib/direct.mjs'
import { runEmulated } from './lib/emulated.mjs'
import { EXIT, KvmHostError } from './lib/errors.mjs'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const note = (/** @type {string} */ msg) => process.stderr.write(`kvm-host: ${msg}\n`)
// A reader that went away (`| head`) must not turn into a crash.
process.stdout.on('error', () => {})

/** @type {((signal: NodeJS.Signals) => void) | undefined} */
let stop
/** @type {NodeJS.Signals | undefined} */
let pendingSignal
for (const sig of /** @type {NodeJS.Signals[]} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.on(sig, () => {
    pendingSignal = sig
    if (stop) stop(sig)
    else process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15))
  })
}

/** @returns {Promise<number>} */
async function main() {
  const o = parseArgs(process.argv.slice(2), repoRoot)
  if (o.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const ctx = {
    repoRoot,
    note,
    onAbort: (/** @type {(signal: NodeJS.Signals) => void} */ fn) => {
      stop = fn
      if (pendingSignal) fn(pendingSignal)
    },
  }
  if (o.direct) {
    if (!kvmUsable()) throw new KvmHostError(EXIT.NO_KVM, '--direct: /dev/kvm does not open here')
    return runDirect(o, ctx)
  }
  if (!o.forceEmulated && (await localKvmFits(note, o.timings))) return runDirect(o, ctx)
  return runEmulated(o, ctx)
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof KvmHostError) {
      note(err.message)
      if (err.hint) note(`hint: ${err.hint}`)
      process.exit(err.exitCode)
    }
    note(`internal error: ${err?.stack ?? err}`)
    process.exit(EXIT.HARNESS)
  },
)
