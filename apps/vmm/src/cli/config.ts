// The `tsvmm run` configuration: its fields, defaults, and validation of a JSON config file and
// of command-line values. Every error names the field (or flag) that is wrong and what it takes.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { VmmError } from '../errors.js'
import type { ConsoleTarget, Delivery, LogLevel, RunConfig, XenVersion } from '../run-config.js'
import { randomDomainUuid, UUID_PATTERN } from '../xen/domain-handle.js'

export type { ConsoleTarget, Delivery, LogLevel, RunConfig, XenVersion } from '../run-config.js'

/** Limits of the numeric fields. */
export const LIMITS = {
  /** 32: the vcpu_info slots of shared_info, and what the VMM's CPUID topology describes. */
  vcpus: { min: 1, max: 32 },
  /** Up to 3 GiB: RAM stays below the local APIC and the 32-bit MMIO hole. */
  memoryMiB: { min: 2, max: 3072 },
  timeoutSec: { min: 0, max: 86400 },
  watchdogSec: { min: 0, max: 86400 },
  shutdownAfterSec: { min: 0, max: 86400 },
} as const

/** Defaults of every field but `image`. */
export const DEFAULTS: Omit<RunConfig, 'image'> = {
  vcpus: 1,
  memoryMiB: 64,
  xenVersion: { major: 4, minor: 17 },
  delivery: 'auto',
  console: 'stdout',
  logLevel: 'warn',
  timeoutSec: 0,
  watchdogSec: 0,
  json: false,
  cmdline: 'console=ttyS0',
  noReboot: false,
}

const FIELDS = [
  'image',
  'kernel',
  'initrd',
  'cmdline',
  'noReboot',
  'vcpus',
  'memory',
  'xenVersion',
  'delivery',
  'console',
  'logLevel',
  'timeout',
  'watchdog',
  'json',
  'uuid',
  'shutdownAfter',
] as const
type Field = (typeof FIELDS)[number]

/** Where a value came from, for error messages: a config file field or a flag. */
export interface Source {
  /** e.g. `config vm.json: field 'vcpus'` or `--vcpus`. */
  readonly name: string
}

const bad = (src: Source, what: string, got: unknown): VmmError =>
  new VmmError('config', `${src.name}: ${what}, got ${describe(got)}`)

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 60 ? `${v.slice(0, 60)}...` : v}'`
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  return String(v)
}

/** An integer within bounds, from a JSON number or a decimal string. */
export function parseIntIn(src: Source, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v.trim()) : v
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw bad(src, `must be a whole number from ${min} to ${max}`, v)
  return n
}

/** A memory size: a number of MiB, or a string like `64M`, `1G`, `512MiB`. */
export function parseMemory(src: Source, v: unknown): number {
  const { min, max } = LIMITS.memoryMiB
  let mib: number | undefined
  if (typeof v === 'number') mib = v
  else if (typeof v === 'string') {
    const m = /^(\d+)\s*(M|MB|MiB|G|GB|GiB)?$/i.exec(v.trim())
    if (m) mib = Number(m[1]) * (m[2]?.toUpperCase().startsWith('G') ? 1024 : 1)
  }
  if (mib === undefined || !Number.isInteger(mib) || mib < min || mib > max)
    throw bad(src, `must be a size in MiB from ${min} to ${max} (e.g. 64, '64M', '1G')`, v)
  return mib
}

/** A Xen version `major.minor`, e.g. `4.17`. */
export function parseXenVersion(src: Source, v: unknown): XenVersion {
  const m = typeof v === 'string' ? /^(\d{1,4})\.(\d{1,5})$/.exec(v.trim()) : null
  const major = m ? Number(m[1]) : Number.NaN
  const minor = m ? Number(m[2]) : Number.NaN
  if (!m || major < 3 || major > 0xffff || minor > 0xffff)
    throw bad(src, "must be a Xen version 'major.minor' from 3.0 (e.g. '4.17')", v)
  return { major, minor }
}

function parseChoice<T extends string>(src: Source, v: unknown, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v))
    throw bad(src, `must be one of ${choices.map((c) => `'${c}'`).join(', ')}`, v)
  return v as T
}

/** `kernel`, `user` or `auto`. */
export const parseDelivery = (src: Source, v: unknown): Delivery =>
  parseChoice(src, v, ['kernel', 'user', 'auto'] as const)

/** `error`, `warn`, `info` or `debug`. */
export const parseLogLevel = (src: Source, v: unknown): LogLevel =>
  parseChoice(src, v, ['error', 'warn', 'info', 'debug'] as const)

/** `stdout`, `stderr`, `none` or `file:<path>` (relative paths resolve against `base`). */
export function parseConsole(src: Source, v: unknown, base: string): ConsoleTarget {
  if (v === 'stdout' || v === 'stderr' || v === 'none') return v
  if (typeof v === 'string' && v.startsWith('file:') && v.length > 5 && !v.includes('\0'))
    return { file: resolve(base, v.slice(5)) }
  throw bad(src, "must be 'stdout', 'stderr', 'none' or 'file:<path>'", v)
}

/** A non-empty path (relative paths resolve against `base`). */
export function parsePath(src: Source, v: unknown, base: string): string {
  if (typeof v !== 'string' || v.trim() === '' || v.includes('\0'))
    throw bad(src, 'must be a file path', v)
  return resolve(base, v)
}

/** A kernel command line: printable ASCII on one line. */
export function parseCmdline(src: Source, v: unknown): string {
  if (typeof v !== 'string' || !/^[\x20-\x7e]*$/.test(v))
    throw bad(src, 'must be a command line of printable ASCII', v)
  return v
}

/** A uuid in canonical text form (kept lower case, as Xen prints it). */
export function parseUuid(src: Source, v: unknown): string {
  if (typeof v !== 'string' || !UUID_PATTERN.test(v.trim()))
    throw bad(src, 'must be a uuid like 3f2504e0-4f89-41d3-9a0c-0305e82c3301', v)
  return v.trim().toLowerCase()
}

function parseBool(src: Source, v: unknown): boolean {
  if (typeof v !== 'boolean') throw bad(src, 'must be true or false', v)
  return v
}

/** A partial configuration: what a config file or the flags set. */
export type PartialConfig = Partial<RunConfig>

/**
 * Validates the parsed JSON of a config file. Unknown fields are errors (a typo must not be
 * silently ignored); relative paths resolve against the file's directory.
 */
export function validateConfigObject(json: unknown, fileName: string): PartialConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new VmmError('config', `config ${fileName}: must be a JSON object, got ${describe(json)}`)
  const base = dirname(resolve(fileName))
  const out: PartialConfig = {}
  for (const [key, value] of Object.entries(json)) {
    if (!(FIELDS as readonly string[]).includes(key))
      throw new VmmError(
        'config',
        `config ${fileName}: unknown field '${key}'`,
        `the fields are ${FIELDS.join(', ')}`,
      )
    const src: Source = { name: `config ${fileName}: field '${key}'` }
    switch (key as Field) {
      case 'image':
      case 'kernel':
        if (out.image !== undefined)
          throw new VmmError('config', `config ${fileName}: give 'image' or 'kernel', not both`)
        out.image = parsePath(src, value, base)
        break
      case 'initrd':
        out.initrd = parsePath(src, value, base)
        break
      case 'cmdline':
        out.cmdline = parseCmdline(src, value)
        break
      case 'noReboot':
        out.noReboot = parseBool(src, value)
        break
      case 'vcpus':
        if (typeof value !== 'number') throw bad(src, 'must be a number', value)
        out.vcpus = parseIntIn(src, value, LIMITS.vcpus.min, LIMITS.vcpus.max)
        break
      case 'memory':
        out.memoryMiB = parseMemory(src, value)
        break
      case 'xenVersion':
        out.xenVersion = parseXenVersion(src, value)
        break
      case 'delivery':
        out.delivery = parseDelivery(src, value)
        break
      case 'console':
        out.console = parseConsole(src, value, base)
        break
      case 'logLevel':
        out.logLevel = parseLogLevel(src, value)
        break
      case 'timeout':
        if (typeof value !== 'number') throw bad(src, 'must be a number of seconds', value)
        out.timeoutSec = parseIntIn(src, value, LIMITS.timeoutSec.min, LIMITS.timeoutSec.max)
        break
      case 'watchdog':
        if (typeof value !== 'number') throw bad(src, 'must be a number of seconds', value)
        out.watchdogSec = parseIntIn(src, value, LIMITS.watchdogSec.min, LIMITS.watchdogSec.max)
        break
      case 'json':
        out.json = parseBool(src, value)
        break
      case 'uuid':
        out.uuid = parseUuid(src, value)
        break
      case 'shutdownAfter':
        if (typeof value !== 'number') throw bad(src, 'must be a number of seconds', value)
        out.shutdownAfterSec = parseIntIn(
          src,
          value,
          LIMITS.shutdownAfterSec.min,
          LIMITS.shutdownAfterSec.max,
        )
        break
    }
  }
  return out
}

/** Reads and validates a JSON config file. */
export function loadConfigFile(path: string): PartialConfig {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
    throw new VmmError('config', `config ${path}: cannot read it (${code})`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new VmmError('config', `config ${path}: not valid JSON (${(e as Error).message})`)
  }
  return validateConfigObject(json, path)
}

/** Merges defaults, then the config file, then the flags; the image is required. */
export function resolveConfig(file: PartialConfig, flags: PartialConfig): RunConfig {
  const merged = { ...DEFAULTS, ...file, ...flags }
  if (merged.image === undefined)
    throw new VmmError(
      'usage',
      'run: no guest image',
      "give one: `tsvmm run <image.elf>`, `--image <path>` or the config's 'image' field",
    )
  // A domain always has a handle: a random one unless the configuration names it.
  return { ...merged, image: merged.image, uuid: merged.uuid ?? randomDomainUuid() }
}
