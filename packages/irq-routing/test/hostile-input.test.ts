// Issue 12 (items 3 and 4): every public function answers nonsense with a RoutingError, never a
// TypeError from inside and never by quietly accepting it.
import type { Vm } from '@tsvmm/kvm-sys'
import { describe, expect, it } from 'vitest'
import {
  checkRouting,
  defaultIrqchipRoutes,
  encodedSize,
  encodeRouting,
  type RoutingEntry,
  RoutingError,
  type RoutingKernel,
  RoutingTable,
  type ValidateOptions,
  validateRouting,
} from '../src/index.js'
import { KernelDouble } from './kernel-double.js'

/** The RoutingError `f` throws; fails the test on anything else or on no throw. */
function routingError(f: () => unknown): RoutingError {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(RoutingError)
    return error as RoutingError
  }
  throw new Error('expected a RoutingError, nothing was thrown')
}

const nullProto = () => Object.create(null) as object
const msi = (extra: object = {}) =>
  ({ gsi: 30, type: 'msi', addressLo: 0xfee0_0000, addressHi: 0, data: 0x31, ...extra }) as never

describe('values that cannot be turned into a string', () => {
  // String(Object.create(null)) and `${Symbol()}` throw TypeError; the message must not
  const hostile: [string, () => unknown][] = [
    ['a null-prototype object', nullProto],
    ['a Symbol', () => Symbol('x')],
  ]
  for (const [what, value] of hostile) {
    it(`a field holding ${what} gives field-range from every entry point`, () => {
      const entry = msi({ data: value() })
      for (const f of [
        () => validateRouting([entry]),
        () => encodeRouting([entry]),
        () => new RoutingTable(new KernelDouble(), { initial: 'empty' }).add(entry),
      ]) {
        expect(routingError(f).rule).toBe('field-range')
      }
      expect(checkRouting([entry])?.rule).toBe('field-range')
    })

    it(`an entry, a type or an option holding ${what} gives a RoutingError`, () => {
      expect(checkRouting([value() as RoutingEntry])?.rule).toBe('entry-shape')
      expect(checkRouting([{ gsi: 1, type: value() } as never])?.rule).toBe('entry-shape')
      expect(routingError(() => encodeRouting([value() as RoutingEntry])).rule).toBe('entry-shape')
      expect(routingError(() => validateRouting([], { arch: value() } as never)).rule).toBe(
        'options',
      )
      expect(routingError(() => validateRouting([], { maxRoutes: value() } as never)).rule).toBe(
        'options',
      )
      const table = new RoutingTable(new KernelDouble(), { initial: 'empty' })
      expect(routingError(() => table.replace(30, [msi({ gsi: value() })])).rule).toBe(
        'entry-shape',
      )
      expect(
        routingError(() => new RoutingTable(new KernelDouble(), { initial: value() } as never))
          .rule,
      ).toBe('options')
    })
  }
})

describe('a table that is not an array', () => {
  for (const [what, table] of [
    ['{}', {}],
    ['null', null],
    ['a string', 'routes'],
    ['an array-like', { length: 2, 0: msi(), 1: msi() }],
  ] as const) {
    it(`validateRouting, checkRouting and encodeRouting reject ${what}`, () => {
      const t = table as unknown as RoutingEntry[]
      expect(routingError(() => validateRouting(t)).rule).toBe('entry-shape')
      expect(checkRouting(t)?.rule).toBe('entry-shape')
      expect(routingError(() => encodeRouting(t)).rule).toBe('entry-shape')
    })
  }
})

describe('encodeRouting into a buffer that is not bytes', () => {
  it('rejects a Uint16Array, an ArrayBuffer and a DataView instead of returning them', () => {
    const table = defaultIrqchipRoutes()
    const size = encodedSize(table.length)
    for (const into of [
      new Uint16Array(size),
      new Uint32Array(size),
      new ArrayBuffer(size),
      new DataView(new ArrayBuffer(size)),
      [] as unknown,
    ]) {
      expect(routingError(() => encodeRouting(table, into as Uint8Array)).rule).toBe(
        'buffer-truncated',
      )
    }
  })

  it('still takes a Buffer (a Uint8Array) and a SharedArrayBuffer-backed Uint8Array', () => {
    const table = defaultIrqchipRoutes()
    const size = encodedSize(table.length)
    const expected = encodeRouting(table)
    expect(encodeRouting(table, Buffer.alloc(size))).toEqual(Buffer.from(expected))
    const shared = new Uint8Array(new SharedArrayBuffer(size))
    expect([...encodeRouting(table, shared)]).toEqual([...expected])
  })
})

describe('options must have their documented types', () => {
  const cases: [string, ValidateOptions][] = [
    ["x2apicFormat: 'false'", { x2apicFormat: 'false' } as never],
    ['x2apicFormat: 1', { x2apicFormat: 1 } as never],
    ["msiDevid: 'no'", { msiDevid: 'no' } as never],
    ['msiDevid: 0', { msiDevid: 0 } as never],
    ["maxRoutes: '4096'", { maxRoutes: '4096' } as never],
    ["irqchip: 'KERNEL'", { irqchip: 'KERNEL' } as never],
    ["xenPortLimit: '4096'", { xenPortLimit: '4096' } as never],
    ['options null', null as never],
    ["options 'x86'", 'x86' as never],
  ]
  for (const [what, options] of cases) {
    it(`rejects ${what} in validateRouting, checkRouting and RoutingTable`, () => {
      expect(routingError(() => validateRouting([], options)).rule).toBe('options')
      expect(routingError(() => checkRouting([], options)).rule).toBe('options')
      expect(routingError(() => new RoutingTable(new KernelDouble(), options)).rule).toBe('options')
    })
  }

  it('still reads the booleans as given', () => {
    const hi = [msi({ addressHi: 0x1 })]
    expect(checkRouting(hi, { x2apicFormat: false })).toBeUndefined()
    expect(checkRouting(hi, { x2apicFormat: true })?.rule).toBe('msi-x2apic-address-hi')
    const devid = [msi({ devid: 7 })]
    expect(checkRouting(devid, { msiDevid: true })).toBeUndefined()
    expect(checkRouting(devid, { msiDevid: false })?.rule).toBe('msi-devid')
  })
})

describe('RoutingTable.attachIrqfd takes only file descriptors', () => {
  function tableWithRoute() {
    const kernel = new KernelDouble()
    const table = new RoutingTable(kernel, { initial: 'empty' })
    table.add(msi())
    table.commit()
    return { kernel, table }
  }
  for (const [what, fd] of [
    ["'x'", 'x'],
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['2**31', 2 ** 31],
    ['3n', 3n],
    ['null', null],
    ['a null-prototype object', Object.create(null)],
  ] as const) {
    it(`rejects fd ${what} and resampleFd ${what} without calling KVM`, () => {
      const { kernel, table } = tableWithRoute()
      const calls = kernel.log.length
      const e = routingError(() => table.attachIrqfd(30, fd as never))
      expect(e.rule).toBe('irqfd-fd')
      expect(e.code).toBe('EINVAL')
      const r = routingError(() => table.attachIrqfd(30, 5, { resampleFd: fd as never }))
      expect(r.rule).toBe('irqfd-fd')
      expect(kernel.log.length).toBe(calls)
      expect(table.irqfds()).toEqual([])
    })
  }

  it('rejects options that are not an object', () => {
    const { table } = tableWithRoute()
    expect(routingError(() => table.attachIrqfd(30, 5, null as never)).rule).toBe('options')
  })
})

describe('RoutingError errno (the sign of Node’s own errors)', () => {
  it('carries the negative errno of its code', () => {
    expect(routingError(() => validateRouting([msi({ gsi: 5000 })])).errno).toBe(-22)
    const table = new RoutingTable(new KernelDouble(), { initial: 'empty' })
    const missing = routingError(() => table.attachIrqfd(99, 5))
    expect([missing.code, missing.errno]).toEqual(['ENOENT', -2])
    expect(new RoutingError('gsi-exhausted', 'x', undefined, 'ENOSPC').errno).toBe(-28)
    expect(new RoutingError('irqfd-exists', 'x', undefined, 'EBUSY').errno).toBe(-16)
  })
})

describe('RoutingTable takes a kvm-sys Vm as its kernel', () => {
  it('a Vm is a RoutingKernel, so no adapter is needed (checked by the type checker)', () => {
    // The function is never called (unit tests have no /dev/kvm); `pnpm typecheck` compiles it,
    // and fails if Vm's setGsiRouting or irqfd stop fitting RoutingKernel.
    const fits = (vm: Vm): RoutingTable => new RoutingTable(vm satisfies RoutingKernel)
    expect(typeof fits).toBe('function')
  })
})
