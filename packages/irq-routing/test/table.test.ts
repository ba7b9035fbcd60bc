import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  defaultIrqchipRoutes,
  encodeRouting,
  LEGACY_GSI_COUNT,
  type MsiRoute,
  normalizeEntry,
  type RoutingEntry,
  RoutingError,
  RoutingTable,
} from '../src/index.js'
import { FakeKvmError, KernelDouble } from './kernel-double.js'

const msi = (gsi: number, data = 0x30): MsiRoute => ({
  gsi,
  type: 'msi',
  addressLo: 0xfee0_0000,
  addressHi: 0,
  data,
})
const xen = (gsi: number, port: number): RoutingEntry => ({ gsi, type: 'xenEvtchn', port, vcpu: 0 })

function setup(options?: ConstructorParameters<typeof RoutingTable>[1]) {
  const kernel = new KernelDouble(options?.irqchip === 'split' ? [] : defaultIrqchipRoutes())
  const table = new RoutingTable(kernel, options)
  return { kernel, table }
}

function thrown(f: () => unknown): unknown {
  try {
    f()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

describe('defaultIrqchipRoutes (kvm_setup_default_irq_routing)', () => {
  it('routes GSI 0-23 to IOAPIC pin n, and 0-15 also to PIC pin n % 8', () => {
    const routes = defaultIrqchipRoutes()
    expect(routes).toHaveLength(40)
    expect(routes.slice(0, 4)).toEqual([
      { gsi: 0, type: 'irqchip', irqchip: 2, pin: 0 },
      { gsi: 0, type: 'irqchip', irqchip: 0, pin: 0 },
      { gsi: 1, type: 'irqchip', irqchip: 2, pin: 1 },
      { gsi: 1, type: 'irqchip', irqchip: 0, pin: 1 },
    ])
    expect(routes.filter((r) => r.gsi === 9)).toEqual([
      { gsi: 9, type: 'irqchip', irqchip: 2, pin: 9 },
      { gsi: 9, type: 'irqchip', irqchip: 1, pin: 1 },
    ])
    expect(routes.filter((r) => r.gsi === 16)).toEqual([
      { gsi: 16, type: 'irqchip', irqchip: 2, pin: 16 },
    ])
    expect(Math.max(...routes.map((r) => r.gsi))).toBe(LEGACY_GSI_COUNT - 1)
  })
})

describe('RoutingTable', () => {
  it('starts with what KVM_CREATE_IRQCHIP installed, committed, nothing to send', () => {
    const { kernel, table } = setup()
    expect(table.committedRoutes()).toHaveLength(40)
    expect(table.routes()).toEqual(table.committedRoutes())
    expect(table.dirty).toBe(false)
    table.commit()
    expect(kernel.log).toEqual([])
  })

  it('starts empty with a split irqchip', () => {
    const { table } = setup({ irqchip: 'split' })
    expect(table.routes()).toEqual([])
    expect(table.size).toBe(0)
  })

  it('allocates the lowest free GSI above the legacy range, and reuses released ones', () => {
    const { table } = setup()
    expect(table.allocateGsi()).toBe(24)
    expect(table.allocateGsi()).toBe(25)
    table.add(msi(26))
    expect(table.allocateGsi()).toBe(27)
    table.releaseGsi(24)
    expect(table.allocateGsi()).toBe(24)
  })

  it('never allocates a legacy GSI even when it has no route', () => {
    const { table } = setup({ irqchip: 'split' })
    expect(table.allocateGsi()).toBe(24)
  })

  it('does not hand out a released GSI while KVM still has its route', () => {
    const { table } = setup()
    const gsi = table.allocateGsi()
    table.add(msi(gsi))
    table.commit()
    table.releaseGsi(gsi)
    expect(table.allocateGsi()).toBe(gsi + 1)
    table.commit()
    expect(table.allocateGsi()).toBe(gsi)
  })

  it('runs out of GSIs with ENOSPC at maxRoutes', () => {
    const { table } = setup({ maxRoutes: 26 })
    table.allocateGsi()
    table.allocateGsi()
    const e = thrown(() => table.allocateGsi()) as RoutingError
    expect(e).toBeInstanceOf(RoutingError)
    expect(e.code).toBe('ENOSPC')
    expect(e.rule).toBe('gsi-exhausted')
  })

  it('commits the whole table, byte-identical to encodeRouting of routes()', () => {
    const { kernel, table } = setup()
    table.add(msi(30))
    table.add(xen(24, 3))
    expect(table.dirty).toBe(true)
    expect(table.encode()).toEqual(encodeRouting(table.routes()))
    table.commit()
    expect(kernel.log).toEqual(['set 42'])
    expect(kernel.table).toEqual(table.routes())
    expect(table.committedRoutes()).toEqual(table.routes())
    expect(table.dirty).toBe(false)
    // ordered by GSI
    expect(kernel.table.slice(-2).map((e) => e.gsi)).toEqual([24, 30])
  })

  it('checks each add against KVM rules and stages nothing on error', () => {
    const { table } = setup()
    table.add(msi(30))
    const shared = thrown(() => table.add(xen(30, 1))) as RoutingError
    expect(shared.rule).toBe('gsi-shared')
    expect(shared.index).toBeUndefined()
    expect((thrown(() => table.add(msi(5000))) as RoutingError).rule).toBe('gsi-range')
    expect(
      (
        thrown(() =>
          table.add({ gsi: 31, type: 'xenEvtchn', port: 1, vcpu: 0, priority: 7 }),
        ) as RoutingError
      ).rule,
    ).toBe('xen-priority')
    expect((thrown(() => table.add({ ...msi(32), devid: 1 })) as RoutingError).rule).toBe(
      'msi-devid',
    )
    // a legacy GSI already has IOAPIC and PIC routes
    expect((thrown(() => table.add(msi(4))) as RoutingError).rule).toBe('gsi-shared')
    expect(table.routes(30)).toEqual([msi(30)])
    expect(table.size).toBe(41)
  })

  it('honours validator options: msiDevid and a split irqchip', () => {
    const { table } = setup({ msiDevid: true, irqchip: 'split' })
    table.add({ ...msi(24), devid: 9 })
    expect(
      (thrown(() => table.add({ gsi: 2, type: 'irqchip', irqchip: 2, pin: 2 })) as RoutingError)
        .rule,
    ).toBe('irqchip-split')
  })

  it('refuses the route past maxRoutes', () => {
    const { table } = setup({ irqchip: 'split', maxRoutes: 2 })
    table.add(msi(0))
    table.add(msi(1))
    expect((thrown(() => table.add(msi(1))) as RoutingError).rule).toBe('table-size')
  })

  it('stores copies: editing the caller’s object changes nothing', () => {
    const { table } = setup()
    const e = msi(40) as { data: number }
    table.add(e as RoutingEntry)
    e.data = 99
    expect(table.routes(40)).toEqual([msi(40)])
  })

  it('replaces all routes of a GSI at once, all or nothing', () => {
    const { table } = setup()
    table.replace(4, [msi(4)])
    expect(table.routes(4)).toEqual([msi(4)])
    expect(table.size).toBe(39)
    const e = thrown(() => table.replace(4, [msi(4, 1), msi(4, 2)])) as RoutingError
    expect(e.rule).toBe('gsi-shared')
    expect(e.index).toBe(1)
    expect(table.routes(4)).toEqual([msi(4)])
    expect((thrown(() => table.replace(4, [msi(5)])) as RoutingError).rule).toBe('entry-shape')
    table.replace(4, [])
    expect(table.routes(4)).toEqual([])
  })

  it('removes routes; a removed GSI is gone from the next commit', () => {
    const { kernel, table } = setup()
    table.remove(0)
    table.remove(1234)
    table.commit()
    expect(kernel.table.some((e) => e.gsi === 0)).toBe(false)
    expect(kernel.table).toHaveLength(38)
  })

  it('keeps KVM’s previous table when the kernel rejects a commit, and drops the edits', () => {
    const { kernel, table } = setup()
    table.add(msi(24))
    table.commit()
    const before = table.committedRoutes()
    table.add(xen(25, 1))
    table.remove(24)
    kernel.failSet.push(new FakeKvmError('EINVAL', 'KVM_SET_GSI_ROUTING'))
    const e = thrown(() => table.commit()) as FakeKvmError
    expect(e.code).toBe('EINVAL')
    expect(kernel.table).toEqual(before)
    expect(table.committedRoutes()).toEqual(before)
    expect(table.routes()).toEqual(before)
    expect(table.dirty).toBe(false)
  })

  it('assigns an irqfd at once when KVM already has the route', () => {
    const { kernel, table } = setup()
    table.attachIrqfd(4, 100)
    expect(kernel.log).toEqual(['assign 100@4'])
    expect(table.irqfds()).toEqual([{ fd: 100, gsi: 4, assigned: true }])
  })

  it('assigns an irqfd only after the commit that creates its route', () => {
    const { kernel, table } = setup()
    const gsi = table.allocateGsi()
    table.add(xen(gsi, 3))
    table.attachIrqfd(gsi, 7, { resampleFd: 8 })
    expect(kernel.log).toEqual([])
    expect(table.irqfds()[0]?.assigned).toBe(false)
    table.commit()
    expect(kernel.log).toEqual(['set 41', `assign 7@${gsi} resample 8`])
    expect(table.irqfds()).toEqual([{ fd: 7, gsi, resampleFd: 8, assigned: true }])
    expect(kernel.violations).toEqual([])
  })

  it('refuses an irqfd on an unrouted GSI (ENOENT) and a fd bound twice (EBUSY)', () => {
    const { table } = setup()
    const unrouted = thrown(() => table.attachIrqfd(99, 5)) as RoutingError
    expect(unrouted.code).toBe('ENOENT')
    table.attachIrqfd(3, 5)
    const twice = thrown(() => table.attachIrqfd(4, 5)) as RoutingError
    expect(twice.code).toBe('EBUSY')
  })

  it('deassigns irqfds before the commit that removes their route', () => {
    const { kernel, table } = setup()
    table.add(msi(24))
    table.commit()
    table.attachIrqfd(24, 11)
    table.releaseGsi(24)
    table.commit()
    expect(kernel.log).toEqual(['set 41', 'assign 11@24', 'deassign 11@24', 'set 40'])
    expect(table.irqfds()).toEqual([])
    expect(kernel.violations).toEqual([])
  })

  it('keeps irqfds bound when a GSI’s routes are replaced', () => {
    const { kernel, table } = setup()
    table.attachIrqfd(5, 12)
    table.replace(5, [msi(5)])
    table.commit()
    expect(kernel.log).toEqual(['assign 12@5', 'set 39'])
    expect(kernel.irqfdBindings.get(12)).toBe(5)
  })

  it('binds deassigned irqfds again when the kernel rejects the commit', () => {
    const { kernel, table } = setup()
    table.attachIrqfd(5, 12)
    table.remove(5)
    kernel.failSet.push(new FakeKvmError('ENOMEM', 'KVM_SET_GSI_ROUTING'))
    expect((thrown(() => table.commit()) as FakeKvmError).code).toBe('ENOMEM')
    expect(kernel.log).toEqual(['assign 12@5', 'deassign 12@5', 'set 38', 'assign 12@5'])
    expect(kernel.irqfdBindings.get(12)).toBe(5)
    expect(table.irqfds()).toEqual([{ fd: 12, gsi: 5, assigned: true }])
    expect(table.routes(5)).toHaveLength(2)
  })

  it('drops irqfds waiting for a route that a failed commit took away', () => {
    const { kernel, table } = setup()
    table.add(msi(30))
    table.attachIrqfd(30, 3)
    kernel.failSet.push(new FakeKvmError('EINVAL', 'KVM_SET_GSI_ROUTING'))
    expect(() => table.commit()).toThrow(FakeKvmError)
    expect(table.irqfds()).toEqual([])
    expect(kernel.log).toEqual(['set 41'])
  })

  it('keeps the committed table when only an irqfd assignment fails', () => {
    const { kernel, table } = setup()
    table.add(msi(30))
    table.add(msi(31))
    table.attachIrqfd(30, 3)
    table.attachIrqfd(31, 4)
    kernel.failIrqfd.push(new FakeKvmError('EBADF', 'KVM_IRQFD'))
    expect((thrown(() => table.commit()) as FakeKvmError).code).toBe('EBADF')
    expect(table.committedRoutes()).toEqual(table.routes())
    expect(kernel.table).toHaveLength(42)
    expect(table.irqfds()).toEqual([{ fd: 4, gsi: 31, assigned: true }])
  })

  it('detaches: deassigns a bound irqfd, drops a waiting one, ENOENT for unknown', () => {
    const { kernel, table } = setup()
    table.attachIrqfd(3, 20)
    table.add(msi(40))
    table.attachIrqfd(40, 21)
    table.detachIrqfd(3, 20)
    table.detachIrqfd(40, 21)
    expect(kernel.log).toEqual(['assign 20@3', 'deassign 20@3'])
    expect((thrown(() => table.detachIrqfd(3, 20)) as RoutingError).code).toBe('ENOENT')
    table.commit()
    expect(kernel.log.slice(2)).toEqual(['set 41'])
  })

  it('reuses one encode buffer across commits', () => {
    const { table } = setup()
    const a = table.encode()
    table.add(msi(30))
    const b = table.encode()
    expect(b.buffer).toBe(a.buffer)
  })
})

describe('RoutingTable keeps its table encoded (one-route changes rewrite one entry)', () => {
  it('rewrites only the 48 bytes of a route whose GSI keeps its route count', () => {
    const { table } = setup()
    for (let g = 24; g < 64; g++) table.add(msi(g))
    const before = table.encode().slice()
    table.replace(40, [msi(40, 0x77)])
    const after = table.encode()
    const changed = [...after.keys()].filter((i) => after[i] !== before[i])
    const slot = 8 + 48 * table.routes().findIndex((e) => e.gsi === 40)
    expect(changed.every((i) => i >= slot && i < slot + 48)).toBe(true)
    expect(changed.length).toBeGreaterThan(0)
    expect(after).toEqual(encodeRouting(table.routes()))
  })

  it('after any edit sequence, encode() is encodeRouting(routes()) and routes() the model', () => {
    // A model of the staged table: gsi -> routes in the order added, as the Map used to keep
    const op = fc.oneof(
      fc.record({ op: fc.constant('add' as const), gsi: fc.integer({ min: 0, max: 80 }) }),
      fc.record({ op: fc.constant('replace' as const), gsi: fc.integer({ min: 0, max: 80 }) }),
      fc.record({ op: fc.constant('remove' as const), gsi: fc.integer({ min: 0, max: 80 }) }),
      fc.record({ op: fc.constant('commit' as const), fail: fc.boolean() }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.boolean(), (ops, split) => {
        const { kernel, table } = setup(split ? { irqchip: 'split' } : {})
        let model = new Map<number, RoutingEntry[]>()
        for (const r of table.routes()) model.set(r.gsi, [...(model.get(r.gsi) ?? []), r])
        let committed = new Map(model)
        let data = 0
        for (const o of ops) {
          if (o.op === 'add') {
            const route = msi(o.gsi, data++)
            try {
              table.add(route)
              model.set(o.gsi, [...(model.get(o.gsi) ?? []), route])
            } catch (error) {
              expect(error).toBeInstanceOf(RoutingError)
              expect(model.has(o.gsi)).toBe(true) // an MSI is refused only on a routed GSI
            }
          } else if (o.op === 'replace') {
            const routes = [xen(o.gsi, data++)]
            table.replace(o.gsi, routes)
            model.set(o.gsi, routes)
          } else if (o.op === 'remove') {
            table.remove(o.gsi)
            model.delete(o.gsi)
          } else {
            if (o.fail) kernel.failSet.push(new FakeKvmError('EINVAL', 'KVM_SET_GSI_ROUTING'))
            try {
              table.commit()
              committed = new Map(model)
            } catch {
              model = new Map(committed)
            }
          }
          const expected = [...model.keys()]
            .sort((a, b) => a - b)
            .flatMap((g) => model.get(g) ?? [])
            .map(normalizeEntry)
          expect(table.routes()).toEqual(expected)
          expect(table.size).toBe(expected.length)
          expect(table.encode()).toEqual(encodeRouting(expected))
        }
        const kept = [...committed.keys()]
          .sort((a, b) => a - b)
          .flatMap((g) => committed.get(g) ?? [])
          .map(normalizeEntry)
        expect(table.committedRoutes()).toEqual(kept)
      }),
      { seed: 0x5107, numRuns: 80 },
    )
  }, 60_000)

  it('grows past its first buffer and still encodes 4096 routes in GSI order', () => {
    const { table } = setup({ irqchip: 'split' })
    for (let g = 4095; g >= 0; g--) table.add(msi(g, g & 0xff))
    const routes = table.routes()
    expect(routes.map((r) => r.gsi)).toEqual(Array.from({ length: 4096 }, (_, g) => g))
    expect(table.encode()).toEqual(encodeRouting(routes))
  })
})
