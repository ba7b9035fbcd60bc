import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  checkRouting,
  defaultIrqchipRoutes,
  type RoutingEntry,
  RoutingError,
  type ValidateOptions,
  validateRouting,
} from '../src/index.js'
import { anyTable, validTable } from './arbitraries.js'

const irqchip = (gsi: number, chip: number, pin: number): RoutingEntry => ({
  gsi,
  type: 'irqchip',
  irqchip: chip,
  pin,
})
const msi = (gsi: number, extra: Partial<RoutingEntry> = {}): RoutingEntry =>
  ({ gsi, type: 'msi', addressLo: 0xfee0_0000, addressHi: 0, data: 0x30, ...extra }) as RoutingEntry
const xen = (gsi: number, port: number, priority?: number): RoutingEntry =>
  priority === undefined
    ? { gsi, type: 'xenEvtchn', port, vcpu: 0 }
    : { gsi, type: 'xenEvtchn', port, vcpu: 0, priority }
const sint = (gsi: number, vcpu = 0, s = 0): RoutingEntry => ({
  gsi,
  type: 'hvSint',
  vcpu,
  sint: s,
})

/** The error validateRouting throws, checked to have the documented shape. */
function rejection(entries: RoutingEntry[], options?: ValidateOptions): RoutingError {
  try {
    validateRouting(entries, options)
  } catch (error) {
    expect(error).toBeInstanceOf(RoutingError)
    const e = error as RoutingError
    expect(e.name).toBe('RoutingError')
    expect(e.message).toContain(e.rule)
    expect(checkRouting(entries, options)?.rule).toBe(e.rule)
    return e
  }
  throw new Error('validateRouting accepted the table')
}
const accepts = (entries: RoutingEntry[], options?: ValidateOptions) => {
  expect(checkRouting(entries, options)).toBeUndefined()
  expect(() => validateRouting(entries, options)).not.toThrow()
}

describe('table rules', () => {
  it('accepts an empty table', () => accepts([]))

  it('accepts KVM’s own default irqchip table', () => accepts(defaultIrqchipRoutes()))

  it('accepts maxRoutes entries and rejects one more (table-size, EINVAL)', () => {
    const full = Array.from({ length: 4096 }, (_, g) => msi(g))
    accepts(full)
    const e = rejection([...full, msi(0)])
    expect(e.rule).toBe('table-size')
    expect(e.code).toBe('EINVAL')
    expect(e.index).toBeUndefined()
  })

  it('takes the limit from maxRoutes (KVM_CAP_IRQ_ROUTING), for count and GSI alike', () => {
    const old = { maxRoutes: 1024 }
    accepts([msi(1023)], old)
    expect(rejection([msi(1024)], old).rule).toBe('gsi-range')
    // 1025 irqchip routes: GSIs 0-1023 on the IOAPIC plus one on the PIC; the count fails first
    const table = Array.from({ length: 1024 }, (_, g) => irqchip(g, 2, g % 24))
    accepts(table, old)
    expect(rejection([...table, irqchip(0, 0, 0)], old).rule).toBe('table-size')
  })

  it('rejects gsi >= 4096 naming the entry (gsi-range)', () => {
    accepts([msi(4095)])
    const e = rejection([msi(1), msi(4096)])
    expect(e.rule).toBe('gsi-range')
    expect(e.index).toBe(1)
    expect(e.code).toBe('EINVAL')
  })

  it('checks every GSI before any other rule, as kvm_set_irq_routing does', () => {
    const e = rejection([irqchip(1, 9, 0), msi(9999)])
    expect(e.rule).toBe('gsi-range')
    expect(e.index).toBe(1)
  })

  it('rejects malformed entries before anything else (entry-shape, field-range)', () => {
    expect(rejection([msi(1), { gsi: 1, type: 'nope' } as never]).rule).toBe('entry-shape')
    const e = rejection([msi(1), msi(2, { data: -3 } as never)])
    expect(e.rule).toBe('field-range')
    expect(e.index).toBe(1)
  })
})

describe('GSI sharing (setup_routing_entry)', () => {
  it('lets a GSI carry irqchip routes on different chips', () => {
    accepts([irqchip(3, 2, 3), irqchip(3, 0, 3)])
    accepts([irqchip(3, 0, 3), irqchip(3, 1, 3), irqchip(3, 2, 3)])
  })

  it('rejects a second route to the same chip, naming the later entry', () => {
    const e = rejection([irqchip(3, 2, 3), msi(4), irqchip(3, 2, 5)])
    expect(e.rule).toBe('gsi-shared')
    expect(e.index).toBe(2)
    expect(e.message).toContain('entry 0')
  })

  it.each([
    ['msi then irqchip', [msi(5), irqchip(5, 2, 5)]],
    ['irqchip then msi', [irqchip(5, 2, 5), msi(5)]],
    ['two msi', [msi(5), msi(5)]],
    ['xen then hvSint', [xen(5, 1), sint(5)]],
    ['hvSint then hvSint', [sint(5), sint(5, 1, 1)]],
    ['xen then xen', [xen(5, 1), xen(5, 2)]],
  ])('rejects %s on one GSI', (_, table) => {
    const e = rejection(table as RoutingEntry[])
    expect(e.rule).toBe('gsi-shared')
    expect(e.index).toBe(1)
  })

  it('compares only with entries already accepted', () => {
    // the first entry is rejected on its own; the sharing check never sees a bad route
    expect(rejection([irqchip(5, 2, 99), irqchip(5, 2, 1)]).rule).toBe('irqchip-pin')
  })

  it('lets different GSIs share a chip pin', () => accepts([irqchip(1, 2, 4), irqchip(2, 2, 4)]))
})

describe('irqchip routes (kvm_set_routing_entry)', () => {
  it.each([
    [0, 7, true],
    [0, 8, false],
    [1, 7, true],
    [1, 8, false],
    [2, 23, true],
    [2, 24, false],
    [2, 0xffff_ffff, false],
  ])('irqchip %d pin %d accepted: %s', (chip, pin, ok) => {
    if (ok) accepts([irqchip(40, chip, pin)])
    else expect(rejection([irqchip(40, chip, pin)]).rule).toBe('irqchip-pin')
  })

  it.each([3, 4, 0xffff_ffff])('rejects irqchip id %d (irqchip-id)', (chip) => {
    expect(rejection([irqchip(1, chip, 0)]).rule).toBe('irqchip-id')
  })

  it('rejects every irqchip route with a split irqchip, and only those', () => {
    expect(rejection([msi(1), irqchip(2, 2, 2)], { irqchip: 'split' }).rule).toBe('irqchip-split')
    accepts([msi(1), xen(2, 1), sint(3)], { irqchip: 'split' })
  })
})

describe('MSI routes', () => {
  it('rejects devid unless msiDevid says KVM_CAP_MSI_DEVID is there', () => {
    const table = [msi(1, { devid: 7 })]
    expect(rejection(table).rule).toBe('msi-devid')
    accepts(table, { msiDevid: true })
  })

  it('checks devid (entry flags) before GSI sharing, as the kernel does', () => {
    expect(rejection([msi(1), msi(1, { devid: 0 })]).rule).toBe('msi-devid')
    expect(rejection([msi(1), msi(1, { devid: 0 })], { msiDevid: true }).rule).toBe('gsi-shared')
  })

  it('leaves address_hi free without the x2APIC 32-bit ID format', () =>
    accepts([msi(1, { addressHi: 0xffff_ffff })]))

  it('rejects address_hi & 0xff with the x2APIC 32-bit ID format', () => {
    const o = { x2apicFormat: true }
    accepts([msi(1, { addressHi: 0xffff_ff00 })], o)
    const e = rejection([msi(1, { addressHi: 0x0000_0001 })], o)
    expect(e.rule).toBe('msi-x2apic-address-hi')
    expect(e.index).toBe(0)
  })

  it('masks all eight low bits of address_hi with 32-bit x2APIC IDs, not fewer, not more', () => {
    // kvm_msi_route_invalid: x2apic_format && (address_hi & 0xff). Bits 4-7 fall outside a
    // 0xf mask and bit 8 inside a 0x1ff one: values on both sides of each edge (issue 16, M11).
    const o = { x2apicFormat: true }
    for (const hi of [0x1, 0x8, 0xf, 0x10, 0x20, 0x40, 0x80, 0xf0, 0xff, 0x1ff, 0xffff_ff80]) {
      expect(rejection([msi(1, { addressHi: hi })], o).rule, hi.toString(16)).toBe(
        'msi-x2apic-address-hi',
      )
    }
    for (const hi of [0x0, 0x100, 0x200, 0x8000_0000, 0xffff_ff00]) {
      accepts([msi(1, { addressHi: hi })], o)
    }
  })
})

describe('HV_SINT routes', () => {
  it('accepts any vcpu and sint', () =>
    accepts([sint(1, 0xffff_ffff, 0xffff_ffff), sint(2, 0, 16), sint(3, 4096, 0)]))
})

describe('Xen event channel routes (kvm_xen_setup_evtchn)', () => {
  it('accepts priority 2LEVEL, given or defaulted', () =>
    accepts([xen(1, 3), xen(2, 4, 0xffff_ffff)]))

  it.each([0, 7, 15, 16, 0xffff_fffe])('rejects priority %d (xen-priority)', (p) => {
    const e = rejection([xen(1, 3, p)])
    expect(e.rule).toBe('xen-priority')
    expect(e.code).toBe('EINVAL')
  })

  it('accepts port 0 and an unknown vcpu', () =>
    accepts([xen(1, 0), { gsi: 2, type: 'xenEvtchn', port: 1, vcpu: 0xffff_ffff }]))

  it('accepts any u32 port by default, as current kernels do', () =>
    accepts([xen(1, 4096), xen(2, 0xffff_ffff)]))

  it('checks the port against a fixed limit when asked (older kernels)', () => {
    accepts([xen(1, 4095)], { xenPortLimit: 4096 })
    expect(rejection([xen(1, 4096)], { xenPortLimit: 4096 }).rule).toBe('xen-port-range')
    accepts([xen(1, 1023)], { xenPortLimit: 1024 })
    expect(rejection([xen(1, 1024)], { xenPortLimit: 1024 }).rule).toBe('xen-port-range')
  })
})

describe('S390 adapter routes', () => {
  it('are rejected on x86 (type-unsupported)', () => {
    const e = rejection([
      msi(1),
      {
        gsi: 2,
        type: 's390Adapter',
        indAddr: 0n,
        summaryAddr: 0n,
        indOffset: 0n,
        summaryOffset: 0,
        adapterId: 0,
      },
    ])
    expect(e.rule).toBe('type-unsupported')
    expect(e.index).toBe(1)
  })
})

describe('options', () => {
  it.each([
    [{ maxRoutes: -1 }],
    [{ maxRoutes: 1.5 }],
    [{ arch: 'arm64' }],
    [{ irqchip: 'none' }],
    [{ xenPortLimit: 2048 }],
  ])('rejects nonsense options %j', (o) => {
    expect(() => checkRouting([], o as ValidateOptions)).toThrow(RoutingError)
  })
})

describe('properties', () => {
  it('accepts every table built from valid entries with legal GSI sharing', () => {
    fc.assert(
      fc.property(validTable, (t) => {
        expect(checkRouting(t)).toBeUndefined()
      }),
      { numRuns: 500 },
    )
  })

  it('never throws for any encodable table, and an error always names a rule and code', () => {
    fc.assert(
      fc.property(anyTable, (t) => {
        const e = checkRouting(t, { msiDevid: true })
        if (e) {
          expect(e.code).toBe('EINVAL')
          expect(e.message.startsWith(e.rule)).toBe(true)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('rejects a table once any one of its entries is made invalid', () => {
    fc.assert(
      fc.property(
        validTable.filter((t) => t.length > 0),
        fc.nat(),
        (t, k) => {
          const i = k % t.length
          const bad = t.slice()
          bad[i] = { gsi: (t[i] as RoutingEntry).gsi, type: 'irqchip', irqchip: 3, pin: 0 }
          expect(checkRouting(bad)).toBeInstanceOf(RoutingError)
        },
      ),
      { numRuns: 300 },
    )
  })
})
