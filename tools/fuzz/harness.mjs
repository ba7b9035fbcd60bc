// The shared part of every fuzz target: a seeded generator, the tally of outcomes and the
// memory figures. A target runs in its own process (run.mjs starts it), calls `tally.input(fn)`
// once per input, and ends with `report()`, which prints one JSON line for run.mjs.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc')

/** mulberry32: small, fast and reproducible from one 32-bit seed. */
export function rng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1))
  const pick = (xs) => xs[int(0, xs.length - 1)]
  const bytes = (n) => {
    const b = new Uint8Array(n)
    for (let i = 0; i < n; i++) b[i] = int(0, 255)
    return b
  }
  return { next, int, pick, bytes, chance: (p) => next() < p }
}

/** Numbers that break careless code: edges of every width, NaN, fractions, unsafe integers. */
export const NASTY_NUMBERS = [
  0,
  1,
  -1,
  0.5,
  1.5,
  -0.5,
  255,
  256,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xffffffff,
  2 ** 32,
  2 ** 32 + 4,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 60,
  -(2 ** 31),
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  -0,
]

/** Thrown by an input already counted as a crash or hang (so it is not counted again). */
export const COUNTED = Symbol('counted')

/** The thrown value of a hostile getter: the caller's own error, not the library's. */
export class HostileError extends Error {}

/** A value of any type, often a hostile one (throwing getters, proxies, null prototypes). */
export function anyValue(r, depth = 0) {
  switch (r.int(0, 13)) {
    case 0:
      return r.pick(NASTY_NUMBERS)
    case 1:
      return r.int(-5, 5000)
    case 2:
      return BigInt(r.int(-3, 3)) * 2n ** BigInt(r.int(0, 70))
    case 3:
      return r.pick(['', 'x', '0', '1e3', 'false', 'true', '__proto__', 'constructor', '\0'])
    case 4:
      return r.pick([null, undefined, true, false, Symbol('s')])
    case 5:
      return r.bytes(r.int(0, 64))
    case 6:
      return new Uint16Array(r.int(0, 8))
    case 7:
      return Object.create(null)
    case 8:
      return new Proxy(
        {},
        {
          get() {
            throw new HostileError('hostile proxy get')
          },
          has: () => true,
        },
      )
    case 9: {
      const o = {}
      Object.defineProperty(o, r.pick(['gsi', 'type', 'u', 'flags', 'gpa', 'bytes', 'length']), {
        get() {
          throw new HostileError('hostile getter')
        },
        enumerable: true,
      })
      return o
    }
    case 10:
      return depth > 2 ? [] : Array.from({ length: r.int(0, 4) }, () => anyValue(r, depth + 1))
    case 11:
      return () => 0
    case 12: {
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      return proxy
    }
    default:
      return depth > 2 ? {} : Object.fromEntries([['k', anyValue(r, depth + 1)]])
  }
}

// An exception the caller's own hostile object threw: a getter or proxy trap that throws, or a
// revoked proxy (every operation on one throws a TypeError, wherever the library touches it).
// It propagates unchanged, which is right: it is not the library's error to type.
function callersOwn(e) {
  return (
    e instanceof HostileError ||
    (e instanceof TypeError && /proxy that has been revoked/.test(e.message))
  )
}

const heap = () => {
  gc()
  return process.memoryUsage().heapUsed
}

/**
 * The outcome counts of one target. `typed(e)` says whether an exception is the package's
 * typed error; anything else thrown is untyped. A target may also count a wrong result
 * (a broken round trip) as untyped, with `fail(why)`.
 */
export function tally(name, typed) {
  const t = {
    tried: 0,
    typed: 0,
    untyped: 0,
    crashes: 0,
    hangs: 0,
    examples: [],
    memStart: 0,
    memWarm: 0,
  }
  t.memStart = process.memoryUsage().heapUsed
  return {
    input(fn) {
      t.tried++
      try {
        fn()
      } catch (e) {
        if (e === COUNTED) return
        if (typed(e) || callersOwn(e)) t.typed++
        else this.fail(`${e?.name ?? typeof e}: ${String(e?.message ?? e).slice(0, 160)}`)
      }
    },
    fail(why) {
      t.untyped++
      if (t.examples.length < 5) t.examples.push(why)
    },
    /** A child process killed by a signal, or one that died with an internal error. */
    crash(why) {
      t.crashes++
      if (t.examples.length < 5) t.examples.push(`crash: ${why}`)
    },
    /** A child process that did not finish in time. */
    hang(why) {
      t.hangs++
      if (t.examples.length < 5) t.examples.push(`hang: ${why}`)
    },
    /** Call once the warm-up inputs are done: the memory baseline. */
    warm() {
      t.memWarm = heap()
    },
    report(extra = {}) {
      const memEnd = heap()
      console.log(
        JSON.stringify({
          target: name,
          tried: t.tried,
          typed: t.typed,
          untyped: t.untyped,
          crashes: t.crashes,
          hangs: t.hangs,
          memStart: t.memStart,
          memWarm: t.memWarm || t.memStart,
          memEnd,
          examples: t.examples,
          ...extra,
        }),
      )
    },
  }
}
