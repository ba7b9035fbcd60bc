// Command-line parsing of `kvm-host [options] -- <command> [args...]`.
import path from 'node:path'
import { EXIT, KvmHostError } from './errors.mjs'

/**
 * @typedef {object} Options
 * @property {string[]} command the command and its arguments (never empty)
 * @property {string[]} collect directories, relative to the repository root, to copy back
 * @property {number} timeoutSec bound of the whole run, seconds
 * @property {number} bootTimeoutSec how long the guest may take to reach its /init, seconds
 * @property {number} smp vCPUs of the emulated host
 * @property {number} memMiB memory of the emulated host, MiB
 * @property {boolean} forceEmulated use QEMU even where /dev/kvm works
 * @property {boolean} direct run here on the local /dev/kvm even if it lacks Xen support
 * @property {boolean} verbose show the guest console and timings on stderr
 * @property {boolean} timings print where the time went on stderr
 * @property {boolean} keep keep the per-run directory (payload image, console log)
 * @property {boolean} help print usage and exit
 */

/** Usage text printed by --help and on usage errors. */
export const USAGE = `usage: kvm-host [options] -- <command> [args...]

Runs <command> as root on a host with /dev/kvm: directly where a local /dev/kvm opens and offers
Xen event channels, else inside a QEMU-emulated AMD host (kvm_amd loaded) with this repository at
the same path.

options:
  --collect <dir>       copy <dir> (relative to the repository root) back from the guest afterwards,
                        replacing the local copy; repeatable
  --timeout <s>         bound of the whole run (default 1200); exit 124 when exceeded
  --boot-timeout <s>    how long the guest may take to reach /init (default 180)
  --smp <n>             vCPUs of the emulated host (default 2)
  --mem <MiB>           memory of the emulated host (default 2048)
  --force-emulated      use QEMU even where a fit /dev/kvm exists
  --direct              run here on the local /dev/kvm even if it lacks Xen event channels
  --timings             print where the time went (stderr)
  -v, --verbose         also show the guest console (stderr) and imply --timings
  --keep                keep the per-run directory (payload image, console log)
  -h, --help            this text`

/** @type {Record<string, keyof Options>} */
const VALUE_OPTIONS = {
  '--collect': 'collect',
  '--timeout': 'timeoutSec',
  '--boot-timeout': 'bootTimeoutSec',
  '--smp': 'smp',
  '--mem': 'memMiB',
}

/** @type {Record<string, keyof Options>} */
const FLAG_OPTIONS = {
  '--force-emulated': 'forceEmulated',
  '--direct': 'direct',
  '--verbose': 'verbose',
  '-v': 'verbose',
  '--timings': 'timings',
  '--keep': 'keep',
  '--help': 'help',
  '-h': 'help',
}

/** @param {string} msg */
const usageError = (msg) => new KvmHostError(EXIT.HARNESS, msg, 'see `kvm-host --help`')

/**
 * Parses an integer option within bounds.
 * @param {string} name
 * @param {string} raw
 * @param {number} min
 * @param {number} max
 */
function intOption(name, raw, min, max) {
  if (!/^\d+$/.test(raw)) throw usageError(`${name} wants a whole number, got '${raw}'`)
  const n = Number(raw)
  if (n < min || n > max) throw usageError(`${name} must be within ${min}..${max}, got ${n}`)
  return n
}

/**
 * Normalizes a --collect directory to a path relative to the repository root, refusing anything
 * that would replace the whole repository or reach outside it.
 * @param {string} dir as given
 * @param {string} repoRoot absolute path of the repository
 * @returns {string}
 */
export function normalizeCollectDir(dir, repoRoot) {
  const abs = path.resolve(repoRoot, dir)
  const rel = path.relative(repoRoot, abs)
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel))
    throw usageError(`--collect ${dir}: must name a directory inside the repository, not the root`)
  if (rel.split(path.sep)[0] === '.git') throw usageError(`--collect ${dir}: .git is not sent`)
  return rel
}

/**
 * Parses the arguments after `node cli.mjs`. A leading `--` (as pnpm may pass it) is ignored;
 * options stop at the next `--` or at the first word that is not an option.
 * @param {string[]} argv
 * @param {string} repoRoot absolute path of the repository (for --collect)
 * @returns {Options}
 */
export function parseArgs(argv, repoRoot) {
  /** @type {Options} */
  const o = {
    command: [],
    collect: [],
    timeoutSec: 1200,
    bootTimeoutSec: 180,
    smp: 2,
    memMiB: 2048,
    forceEmulated: false,
    direct: false,
    verbose: false,
    timings: false,
    keep: false,
    help: false,
  }
  let i = argv[0] === '--' ? 1 : 0
  for (; i < argv.length; i++) {
    const arg = /** @type {string} */ (argv[i])
    if (arg === '--') {
      i++
      break
    }
    if (!arg.startsWith('-')) break
    const eq = arg.indexOf('=')
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    const flag = FLAG_OPTIONS[name]
    if (flag) {
      if (name !== arg) throw usageError(`${name} takes no value`)
      Object.assign(o, { [flag]: true })
      continue
    }
    const key = VALUE_OPTIONS[name]
    if (!key) throw usageError(`unknown option ${name}`)
    let value
    if (name !== arg) value = arg.slice(eq + 1)
    else if (i + 1 < argv.length) value = /** @type {string} */ (argv[++i])
    else throw usageError(`${name} needs a value`)
    if (key === 'collect') o.collect.push(normalizeCollectDir(value, repoRoot))
    else if (key === 'timeoutSec') o.timeoutSec = intOption(name, value, 1, 86_400)
    else if (key === 'bootTimeoutSec') o.bootTimeoutSec = intOption(name, value, 1, 86_400)
    else if (key === 'smp') o.smp = intOption(name, value, 1, 64)
    else if (key === 'memMiB') o.memMiB = intOption(name, value, 256, 65_536)
  }
  o.command = argv.slice(i)
  if (o.verbose) o.timings = true
  if (!o.help && o.command.length === 0) throw usageError('no command given')
  if (o.direct && o.forceEmulated)
    throw usageError('--direct and --force-emulated exclude each other')
  return o
}
