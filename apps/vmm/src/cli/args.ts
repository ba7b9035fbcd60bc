// Command-line parsing of `tsvmm`: commands, flags (`--flag value` or `--flag=value`), help and
// version. Pure: turns argv into a Command or throws a VmmError naming the bad flag.

import { VmmError } from '../errors.js'
import {
  type Delivery,
  LIMITS,
  loadConfigFile,
  type PartialConfig,
  parseCmdline,
  parseConsole,
  parseDelivery,
  parseIntIn,
  parseLogLevel,
  parseMemory,
  parsePath,
  parseUuid,
  parseXenVersion,
  type RunConfig,
  resolveConfig,
} from './config.js'

/** Guest widths the demo runs. */
export type GuestWidth = 64 | 32

/** Options of `tsvmm demo`. */
export interface DemoOptions {
  /** Delivery modes to run, in order. */
  deliveries: Exclude<Delivery, 'auto'>[]
  /** Guest widths to run, in order. */
  widths: GuestWidth[]
  /** vCPUs of each demo VM. */
  vcpus: number
  /** Also run the fuzz guest in each mode and width. */
  fuzz: boolean
  /** Then boot Linux (tools/linux-guest) in each delivery mode. */
  linux: boolean
  /** Run on this machine's /dev/kvm even when it seems unusable (no re-exec in tools/kvm-host). */
  here: boolean
  /** Bound of each VM run, seconds. */
  timeoutSec: number
}

/** What the command line asks for. */
export type Command =
  | { kind: 'help'; topic: 'main' | 'run' | 'caps' | 'demo' }
  | { kind: 'version' }
  | { kind: 'caps'; json: boolean }
  | { kind: 'run'; config: RunConfig }
  | { kind: 'demo'; options: DemoOptions }

/** Splits `--flag=value`, and reads the value of a flag that takes one. */
class ArgReader {
  readonly #args: string[]
  #i = 0

  constructor(args: readonly string[]) {
    this.#args = args.flatMap((a) => {
      const eq = a.indexOf('=')
      return a.startsWith('--') && eq > 2 ? [a.slice(0, eq), a.slice(eq + 1)] : [a]
    })
  }

  next(): string | undefined {
    return this.#args[this.#i++]
  }

  value(flag: string): string {
    const v = this.#args[this.#i++]
    if (v === undefined) throw new VmmError('usage', `${flag} needs a value`, 'see `tsvmm --help`')
    return v
  }
}

const unknownFlag = (cmd: string, a: string) =>
  new VmmError('usage', `${cmd}: unknown option '${a}'`, `see \`tsvmm help ${cmd}\``)

/** Parses `tsvmm`'s arguments (without `node` and the script). `cwd` resolves relative paths. */
export function parseCommand(argv: readonly string[], cwd = process.cwd()): Command {
  const r = new ArgReader(argv)
  const first = r.next()
  if (first === undefined) return { kind: 'help', topic: 'main' }
  if (first === '-h' || first === '--help') return { kind: 'help', topic: 'main' }
  if (first === '-V' || first === '--version') return { kind: 'version' }
  switch (first) {
    case 'help': {
      // `tsvmm help --help` is help about help: the main usage, like `git help --help`.
      const next = r.next()
      const topic = next === undefined || next === '-h' || next === '--help' ? 'main' : next
      if (topic === 'main' || topic === 'run' || topic === 'caps' || topic === 'demo')
        return { kind: 'help', topic }
      throw new VmmError('usage', `help: no command '${topic}'`, 'the commands are caps, run, demo')
    }
    case 'caps':
      return parseCaps(r)
    case 'run':
      return parseRun(r, cwd)
    case 'demo':
      return parseDemo(r)
    default:
      throw new VmmError(
        'usage',
        `unknown command '${first}'`,
        'the commands are caps, run, demo, help (see `tsvmm --help`)',
      )
  }
}

function parseCaps(r: ArgReader): Command {
  let json = false
  for (let a = r.next(); a !== undefined; a = r.next()) {
    if (a === '--json') json = true
    else if (a === '-h' || a === '--help') return { kind: 'help', topic: 'caps' }
    else throw unknownFlag('caps', a)
  }
  return { kind: 'caps', json }
}

function parseRun(r: ArgReader, cwd: string): Command {
  const flags: PartialConfig = {}
  let configFile: string | undefined
  const f = (name: string) => ({ name })
  for (let a = r.next(); a !== undefined; a = r.next()) {
    switch (a) {
      case '-h':
      case '--help':
        return { kind: 'help', topic: 'run' }
      case '--config':
        configFile = parsePath(f(a), r.value(a), cwd)
        break
      case '--image':
      case '--kernel':
        if (flags.image !== undefined)
          throw new VmmError('usage', `run: more than one guest image ('${a}')`)
        flags.image = parsePath(f(a), r.value(a), cwd)
        break
      case '--initrd':
        flags.initrd = parsePath(f(a), r.value(a), cwd)
        break
      case '--cmdline':
        flags.cmdline = parseCmdline(f(a), r.value(a))
        break
      case '--no-reboot':
        flags.noReboot = true
        break
      case '--vcpus':
        flags.vcpus = parseIntIn(f(a), r.value(a), LIMITS.vcpus.min, LIMITS.vcpus.max)
        break
      case '--memory':
        flags.memoryMiB = parseMemory(f(a), r.value(a))
        break
      case '--xen-version':
        flags.xenVersion = parseXenVersion(f(a), r.value(a))
        break
      case '--delivery':
        flags.delivery = parseDelivery(f(a), r.value(a))
        break
      case '--console':
        flags.console = parseConsole(f(a), r.value(a), cwd)
        break
      case '--log-level':
        flags.logLevel = parseLogLevel(f(a), r.value(a))
        break
      case '--timeout':
        flags.timeoutSec = parseIntIn(f(a), r.value(a), 0, LIMITS.timeoutSec.max)
        break
      case '--watchdog':
        flags.watchdogSec = parseIntIn(f(a), r.value(a), 0, LIMITS.watchdogSec.max)
        break
      case '--json':
        flags.json = true
        break
      case '--uuid':
        flags.uuid = parseUuid(f(a), r.value(a))
        break
      case '--shutdown-after':
        flags.shutdownAfterSec = parseIntIn(f(a), r.value(a), 0, LIMITS.shutdownAfterSec.max)
        break
      default:
        if (a.startsWith('-')) throw unknownFlag('run', a)
        if (flags.image !== undefined)
          throw new VmmError('usage', `run: more than one guest image ('${a}')`)
        flags.image = parsePath(f('image'), a, cwd)
    }
  }
  const file = configFile === undefined ? {} : loadConfigFile(configFile)
  return { kind: 'run', config: resolveConfig(file, flags) }
}

function parseDemo(r: ArgReader): Command {
  const options: DemoOptions = {
    deliveries: ['kernel', 'user'],
    widths: [64, 32],
    vcpus: 2,
    fuzz: false,
    linux: true,
    here: false,
    timeoutSec: 120,
  }
  const f = (name: string) => ({ name })
  for (let a = r.next(); a !== undefined; a = r.next()) {
    switch (a) {
      case '-h':
      case '--help':
        return { kind: 'help', topic: 'demo' }
      case '--delivery': {
        const v = r.value(a)
        if (v === 'all') options.deliveries = ['kernel', 'user']
        else if (v === 'kernel' || v === 'user') options.deliveries = [v]
        else throw new VmmError('usage', `--delivery: must be kernel, user or all, got '${v}'`)
        break
      }
      case '--width': {
        const v = r.value(a)
        if (v === 'all') options.widths = [64, 32]
        else if (v === '64' || v === '32') options.widths = [Number(v) as GuestWidth]
        else throw new VmmError('usage', `--width: must be 64, 32 or all, got '${v}'`)
        break
      }
      case '--vcpus':
        options.vcpus = parseIntIn(f(a), r.value(a), 1, 8)
        break
      case '--timeout':
        options.timeoutSec = parseIntIn(f(a), r.value(a), 1, LIMITS.timeoutSec.max)
        break
      case '--fuzz':
        options.fuzz = true
        break
      case '--here':
        options.here = true
        break
      case '--no-linux':
        options.linux = false
        break
      default:
        throw unknownFlag('demo', a)
    }
  }
  return { kind: 'demo', options }
}
