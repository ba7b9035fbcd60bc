// fast-check generators of routing entries and tables, shared by the property tests.
import fc from 'fast-check'
import type { RoutingEntry } from '../src/index.js'

export const u32 = fc.oneof(
  fc.integer({ min: 0, max: 0xffff_ffff }),
  fc.constantFrom(0, 1, 7, 8, 23, 24, 1023, 1024, 4095, 4096, 0xff, 0x100, 0xffff_ffff),
)
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn })

/** Any encodable entry: every type, every field anywhere in its range. */
export const anyEntry: fc.Arbitrary<RoutingEntry> = fc.oneof(
  fc.record({ gsi: u32, type: fc.constant('irqchip' as const), irqchip: u32, pin: u32 }),
  fc.record(
    {
      gsi: u32,
      type: fc.constant('msi' as const),
      addressLo: u32,
      addressHi: u32,
      data: u32,
      devid: u32,
    },
    { requiredKeys: ['gsi', 'type', 'addressLo', 'addressHi', 'data'] },
  ),
  fc.record({
    gsi: u32,
    type: fc.constant('s390Adapter' as const),
    indAddr: u64,
    summaryAddr: u64,
    indOffset: u64,
    summaryOffset: u32,
    adapterId: u32,
  }),
  fc.record({ gsi: u32, type: fc.constant('hvSint' as const), vcpu: u32, sint: u32 }),
  fc.record(
    {
      gsi: u32,
      type: fc.constant('xenEvtchn' as const),
      port: u32,
      vcpu: u32,
      priority: fc.oneof(fc.constant(0xffff_ffff), u32),
    },
    { requiredKeys: ['gsi', 'type', 'port', 'vcpu'] },
  ),
)

export const anyTable = fc.array(anyEntry, { maxLength: 40 })

const gsi = fc.integer({ min: 0, max: 4095 })

/** Entries KVM accepts on their own on x86 (no devid, no s390, valid pins and priorities). */
export const validEntry: fc.Arbitrary<RoutingEntry> = fc.oneof(
  fc.record({
    gsi,
    type: fc.constant('irqchip' as const),
    irqchip: fc.constant(2),
    pin: fc.integer({ min: 0, max: 23 }),
  }),
  fc.record({
    gsi,
    type: fc.constant('irqchip' as const),
    irqchip: fc.constantFrom(0, 1),
    pin: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ gsi, type: fc.constant('msi' as const), addressLo: u32, addressHi: u32, data: u32 }),
  fc.record({ gsi, type: fc.constant('hvSint' as const), vcpu: u32, sint: u32 }),
  fc.record(
    {
      gsi,
      type: fc.constant('xenEvtchn' as const),
      port: u32,
      vcpu: u32,
      priority: fc.constant(0xffff_ffff),
    },
    { requiredKeys: ['gsi', 'type', 'port', 'vcpu'] },
  ),
)

/** Tables KVM accepts: valid entries, and each GSI either one non-irqchip route or irqchip routes
 * on distinct chips. */
export const validTable: fc.Arbitrary<RoutingEntry[]> = fc
  .array(validEntry, { maxLength: 60 })
  .map((entries) => {
    const seen = new Map<number, RoutingEntry[]>()
    return entries.filter((e) => {
      const onGsi = seen.get(e.gsi) ?? []
      const clash = onGsi.some(
        (p) => p.type !== 'irqchip' || e.type !== 'irqchip' || p.irqchip === e.irqchip,
      )
      if (clash) return false
      seen.set(e.gsi, [...onGsi, e])
      return true
    })
  })
