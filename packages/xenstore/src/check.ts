// Argument checks for the host-side API: a bad argument is a XenstoreError EINVAL naming the
// operation, never a TypeError from deep inside or a silently wrong answer.

import { XenstoreError } from './errors.js'

function bad(operation: string, what: string, value: unknown): never {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value)
  throw new XenstoreError('EINVAL', operation, `${what}: got ${shown}`)
}

/** A domain id: an integer 0..0xffff (0 is the host, dom0). */
export function checkDomid(x: unknown, operation: string): number {
  if (!Number.isSafeInteger(x) || (x as number) < 0 || (x as number) > 0xffff)
    bad(operation, 'domid (0..65535)', x)
  return x as number
}

/** A u32: a transaction id, request id or message type. */
export function checkU32(x: unknown, what: string, operation: string): number {
  if (!Number.isSafeInteger(x) || (x as number) < 0 || (x as number) > 0xffffffff)
    bad(operation, `${what} (a u32)`, x)
  return x as number
}

/** A string argument. */
export function checkString(x: unknown, what: string, operation: string): string {
  if (typeof x !== 'string') bad(operation, `${what} (a string)`, x)
  return x
}

/** A byte array argument. */
export function checkBytes(x: unknown, what: string, operation: string): Uint8Array {
  if (!(x instanceof Uint8Array)) bad(operation, `${what} (a Uint8Array)`, x)
  return x
}

/** A callback argument. */
export function checkFunction<F>(x: F, what: string, operation: string): F {
  if (typeof x !== 'function') bad(operation, `${what} (a function)`, x)
  return x
}
