// Argument checks shared by every method. A bad argument is the caller's bug, but it still gets
// kvm-sys's one error type: KvmError 'EINVAL' naming the ioctl and the argument, thrown before
// any struct is built or any ioctl issued (never a TypeError from BigInt() or a DataView, and
// never a value silently wrapped to 32 bits).
import { KvmError } from './errors.js'

const EINVAL = 22
const U64_END = 1n << 64n
const I64_MIN = -(1n << 63n)

/** The KvmError for a bad argument of `syscall`. */
export function invalid(syscall: string, what: string, value: unknown, want: string): KvmError {
  return new KvmError(EINVAL, syscall, `${what} must be ${want}, not ${show(value)}`)
}

/** A value for a message; never throws (symbols, null-prototype objects, revoked proxies). */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'symbol') return 'a symbol'
  if (typeof v === 'function') return 'a function'
  if (v === null || typeof v !== 'object') return String(v)
  if (Array.isArray(v)) return 'an array'
  return 'an object'
}

/** An unsigned integer number of at most `bits` bits (up to 32). */
export function uint(syscall: string, what: string, v: unknown, bits = 32): number {
  const max = 2 ** bits - 1
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
    throw invalid(syscall, what, v, `an integer in 0..${max}`)
  return v
}

/** A non-negative safe integer number (a guest physical address, a size, a port). */
export function safeUint(syscall: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw invalid(syscall, what, v, 'a non-negative safe integer')
  return v
}

/** A raw 64-bit value: a bigint in -2^63..2^64-1 (stored two's complement), or a safe integer. */
export function u64(syscall: string, what: string, v: unknown): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v)
  if (typeof v === 'bigint' && v >= I64_MIN && v < U64_END) return BigInt.asUintN(64, v)
  throw invalid(syscall, what, v, 'a bigint in -2^63..2^64-1 or a non-negative safe integer')
}

/** A raw 64-bit value that must be a bigint (registers, MSRs, attribute values). */
export function u64Big(syscall: string, what: string, v: unknown): bigint {
  if (typeof v !== 'bigint') throw invalid(syscall, what, v, 'a bigint')
  return u64(syscall, what, v)
}

/** A boolean (or 0/1, as C callers write it). */
export function flag(syscall: string, what: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v
  if (v === 0 || v === 1) return v === 1
  throw invalid(syscall, what, v, 'a boolean')
}

/** A plain object argument (not null, not an array). */
export function object<T>(syscall: string, what: string, v: unknown): T {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw invalid(syscall, what, v, 'an object')
  return v as T
}

/** An array argument, at most `max` long. */
export function array<T>(syscall: string, what: string, v: unknown, max = 0x10000): readonly T[] {
  if (!Array.isArray(v)) throw invalid(syscall, what, v, 'an array')
  if (v.length > max) throw invalid(syscall, `${what}.length`, v.length, `at most ${max}`)
  return v as T[]
}

// The brand check behind Object.prototype.toString for typed arrays: a real Uint8Array (or
// Buffer, from any realm), never an object that only inherits Uint8Array.prototype.
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)?.get as (this: unknown) => string | undefined

/** A Uint8Array (over any buffer, shared or not), optionally of exactly `length` bytes. */
export function bytes(syscall: string, what: string, v: unknown, length?: number): Uint8Array {
  if (typedArrayTag.call(v) !== 'Uint8Array') throw invalid(syscall, what, v, 'a Uint8Array')
  const b = v as Uint8Array
  if (length !== undefined && b.length !== length)
    throw invalid(syscall, `${what}.length`, b.length, `${length}`)
  return b
}

/** A key of `table`, own property only (so '__proto__' or 'toString' is not a type). */
export function oneOf<K extends string>(
  syscall: string,
  what: string,
  v: unknown,
  table: Record<K, unknown>,
): K {
  if (typeof v !== 'string' || !Object.hasOwn(table, v))
    throw invalid(syscall, what, v, `one of ${Object.keys(table).join(', ')}`)
  return v as K
}
