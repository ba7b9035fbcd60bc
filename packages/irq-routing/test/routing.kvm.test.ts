// Differential test on real KVM: seeded random tables go to KVM_SET_GSI_ROUTING and to
// checkRouting; the kernel is ground truth. The one documented difference: x86 kernels accept
// KVM_MSI_VALID_DEVID without advertising KVM_CAP_MSI_DEVID, and tsvmm rejects it unless the
// caller says the capability is there (evtchn-semantics.md, "GSI routing validation").
// Then RoutingTable drives a real VM: irqfd -> Xen event channel route -> pending bit.

import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { abi, EventFd, Kvm, KvmError, type Vm } from '@tsvmm/kvm-sys'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  checkRouting,
  decodeRouting,
  encodedSize,
  encodeRouting,
  type RoutingEntry,
  RoutingError,
  RoutingTable,
  type ValidateOptions,
} from '../src/index.js'

type Mode = 'kernel' | 'split' | 'x2apic'

const gsi = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(4094, 4095, 4096, 4097, 0x7fff_ffff, 0xffff_ffff) },
)
const u32 = fc.oneof(
  fc.integer({ min: 0, max: 0xffff_ffff }),
  fc.constantFrom(0, 1, 0xff, 0x100, 0xffff_ffff),
)
const entry: fc.Arbitrary<RoutingEntry> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      gsi,
      type: fc.constant('irqchip' as const),
      irqchip: fc.oneof(
        { weight: 9, arbitrary: fc.constantFrom(0, 1, 2) },
        { weight: 1, arbitrary: fc.constantFrom(3, 4, 0xffff_ffff) },
      ),
      pin: fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 0, max: 7 }) },
        { weight: 3, arbitrary: fc.constantFrom(8, 15, 16, 23, 24, 25, 0xffff_ffff) },
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc
      .record({
        gsi,
        type: fc.constant('msi' as const),
        addressLo: u32,
        addressHi: fc.oneof(
          fc.constant(0),
          fc.constantFrom(0x8, 0xf, 0x10, 0x80, 0xff, 0x100, 0x1ff),
          fc.integer({ min: 0, max: 0xffff_ffff }).map((v) => (v & ~0xff) >>> 0),
          u32,
        ),
        data: u32,
      })
      .chain((m) =>
        fc.oneof(
          { weight: 6, arbitrary: fc.constant<RoutingEntry>(m) },
          { weight: 1, arbitrary: u32.map((devid): RoutingEntry => ({ ...m, devid })) },
        ),
      ),
  },
  {
    weight: 2,
    arbitrary: fc.record({ gsi, type: fc.constant('hvSint' as const), vcpu: u32, sint: u32 }),
  },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        gsi,
        type: fc.constant('xenEvtchn' as const),
        port: fc.oneof(fc.constantFrom(0, 1, 3, 1023, 1024, 4095, 4096, 0xffff_ffff), u32),
        vcpu: fc.oneof(fc.constantFrom(0, 1, 0xffff_ffff), u32),
        priority: fc.oneof(
          { weight: 6, arbitrary: fc.constant(0xffff_ffff) },
          { weight: 1, arbitrary: fc.constantFrom(0, 7, 15, 16, 0xffff_fffe) },
        ),
      },
      { requiredKeys: ['gsi', 'type', 'port', 'vcpu'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      gsi,
      type: fc.constant('s390Adapter' as const),
      indAddr: fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
      summaryAddr: fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
      indOffset: fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
      summaryOffset: u32,
      adapterId: u32,
    }),
  },
)
const testCase = fc.record({
  mode: fc.constantFrom<Mode>('kernel', 'kernel', 'split', 'x2apic'),
  entries: fc.array(entry, { maxLength: 10 }),
})

/** Big tables around the count limit, in the kernel-irqchip VM. */
function bigTables(max: number): RoutingEntry[][] {
  const msiAt = (g: number): RoutingEntry => ({
    gsi: g,
    type: 'msi',
    addressLo: 0xfee0_0000,
    addressHi: 0,
    data: g & 0xff,
  })
  const full = Array.from({ length: max }, (_, g) => msiAt(g))
  return [
    full,
    [...full.slice(0, max - 1), msiAt(max)], // the last GSI one past the limit
    [...full, { gsi: 0, type: 'irqchip', irqchip: 0, pin: 0 }], // one entry too many
  ]
}

interface Verdict {
  accepted: boolean
  code?: string
}

let kvm: Kvm
const vms = new Map<Mode, Vm>()
let maxRoutes: number
let msiDevidCap: boolean

function kernelVerdict(vm: Vm, bytes: Uint8Array): Verdict {
  try {
    vm.setGsiRouting(bytes)
    return { accepted: true }
  } catch (error) {
    expect(error).toBeInstanceOf(KvmError)
    return { accepted: false, code: (error as KvmError).code }
  }
}

function optionsFor(mode: Mode, msiDevid: boolean): ValidateOptions {
  return {
    maxRoutes,
    msiDevid,
    irqchip: mode === 'split' ? 'split' : 'kernel',
    x2apicFormat: mode === 'x2apic',
  }
}

beforeAll(() => {
  kvm = Kvm.open()
  maxRoutes = kvm.checkExtension(abi.Cap.IRQ_ROUTING)
  msiDevidCap = kvm.checkExtension(abi.Cap.MSI_DEVID) > 0
  const withIrqchip = kvm.createVm()
  withIrqchip.createIrqchip()
  vms.set('kernel', withIrqchip)
  const split = kvm.createVm()
  split.enableSplitIrqchip(24)
  vms.set('split', split)
  const x2apic = kvm.createVm()
  x2apic.enableCap(abi.Cap.X2APIC_API, [abi.KVM_X2APIC_API_USE_32BIT_IDS])
  x2apic.createIrqchip()
  vms.set('x2apic', x2apic)
})

afterAll(() => {
  for (const vm of vms.values()) vm.close()
  kvm?.close()
})

describe('validateRouting agrees with KVM_SET_GSI_ROUTING', () => {
  it('reports the host: KVM_CAP_IRQ_ROUTING and KVM_CAP_MSI_DEVID', () => {
    expect(maxRoutes).toBeGreaterThanOrEqual(1024)
    console.log(`KVM_CAP_IRQ_ROUTING ${maxRoutes}, KVM_CAP_MSI_DEVID ${msiDevidCap}`)
  })

  it('on 400 seeded random tables in three VM setups, plus tables at the count limit', () => {
    const cases = fc.sample(testCase, { seed: 0x7e57_ab1e, numRuns: 400 })
    const big = bigTables(maxRoutes).map((entries) => ({ mode: 'kernel' as Mode, entries }))
    const disagreements: string[] = []
    const tally = { accepted: 0, rejected: 0, devidOnly: 0 }
    const rulesSeen = new Map<string, number>()
    for (const { mode, entries } of [...cases, ...big]) {
      const vm = vms.get(mode) as Vm
      const kernel = kernelVerdict(vm, encodeRouting(entries))
      const strict = checkRouting(entries, optionsFor(mode, msiDevidCap))
      // with the devid decision set aside, the validator must be the kernel exactly
      const lenient = checkRouting(entries, optionsFor(mode, true))
      if (kernel.accepted) tally.accepted++
      else tally.rejected++
      for (const e of [strict, lenient])
        if (e) rulesSeen.set(e.rule, (rulesSeen.get(e.rule) ?? 0) + 1)
      const show = () =>
        `${mode} ${JSON.stringify(entries, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)).slice(0, 400)}`
      if (kernel.accepted !== (lenient === undefined)) {
        disagreements.push(
          `kernel ${kernel.accepted ? 'accepted' : kernel.code}, validator ${lenient?.message ?? 'accepted'}: ${show()}`,
        )
        continue
      }
      if (!kernel.accepted) expect(kernel.code).toBe(lenient?.code)
      if (strict && !lenient) {
        // the documented difference, and nothing else
        expect(strict.rule).toBe('msi-devid')
        expect(kernel.accepted).toBe(true)
        tally.devidOnly++
      }
      if (!strict) expect(kernel.accepted).toBe(true)
    }
    console.log(
      `differential: ${tally.accepted} accepted, ${tally.rejected} rejected by KVM, ` +
        `${tally.devidOnly} rejected only for devid; rules hit: ${JSON.stringify(Object.fromEntries(rulesSeen))}`,
    )
    expect(disagreements).toEqual([])
    // the sample must exercise both answers and most rules, or it proves little
    expect(tally.accepted).toBeGreaterThan(50)
    expect(tally.rejected).toBeGreaterThan(50)
    for (const rule of [
      'gsi-range',
      'table-size',
      'gsi-shared',
      'irqchip-pin',
      'irqchip-id',
      'irqchip-split',
      'msi-devid',
      'msi-x2apic-address-hi',
      'xen-priority',
      'type-unsupported',
    ]) {
      expect(rulesSeen.get(rule) ?? 0, rule).toBeGreaterThan(0)
    }
  })

  it('agrees rule by rule: one witness table per rule, and its fixed twin', () => {
    const msi = (g: number, extra: object = {}) =>
      ({
        gsi: g,
        type: 'msi',
        addressLo: 0xfee0_0000,
        addressHi: 0,
        data: 0x31,
        ...extra,
      }) as RoutingEntry
    const irqchip = (g: number, chip: number, pin: number): RoutingEntry => ({
      gsi: g,
      type: 'irqchip',
      irqchip: chip,
      pin,
    })
    const xen = (g: number, port: number, priority?: number): RoutingEntry =>
      priority === undefined
        ? { gsi: g, type: 'xenEvtchn', port, vcpu: 0 }
        : { gsi: g, type: 'xenEvtchn', port, vcpu: 0, priority }
    // [rule, VM, table breaking only that rule, the same table fixed]
    const witnesses: [string, Mode, RoutingEntry[], RoutingEntry[]][] = [
      ['gsi-range', 'kernel', [msi(maxRoutes)], [msi(maxRoutes - 1)]],
      [
        'gsi-shared',
        'kernel',
        [irqchip(5, 2, 5), irqchip(5, 2, 6)],
        [irqchip(5, 2, 5), irqchip(5, 0, 5)],
      ],
      ['gsi-shared', 'kernel', [msi(5), xen(5, 3)], [msi(5), xen(6, 3)]],
      ['gsi-shared', 'kernel', [irqchip(5, 2, 5), msi(5)], [irqchip(5, 2, 5), msi(6)]],
      ['irqchip-pin', 'kernel', [irqchip(1, 0, 8)], [irqchip(1, 0, 7)]],
      ['irqchip-pin', 'kernel', [irqchip(1, 1, 8)], [irqchip(1, 1, 7)]],
      ['irqchip-pin', 'kernel', [irqchip(1, 2, 24)], [irqchip(1, 2, 23)]],
      ['irqchip-id', 'kernel', [irqchip(1, 3, 0)], [irqchip(1, 2, 0)]],
      ['irqchip-split', 'split', [msi(1), irqchip(2, 2, 2)], [msi(1), msi(2)]],
      // every edge of the 0xff mask: bits 0, 3, 4 and 7 rejected, bit 8 accepted (M11)
      ...[0x1, 0x8, 0x10, 0x80, 0xff].map((hi): [string, Mode, RoutingEntry[], RoutingEntry[]] => [
        'msi-x2apic-address-hi',
        'x2apic',
        [msi(1, { addressHi: hi })],
        [msi(1, { addressHi: (hi << 8) >>> 0 })],
      ]),
      ['xen-priority', 'kernel', [xen(1, 3, 16)], [xen(1, 3, 0xffff_ffff)]],
      ['xen-priority', 'kernel', [xen(1, 3, 0)], [xen(1, 3)]],
      [
        'type-unsupported',
        'kernel',
        [
          {
            gsi: 1,
            type: 's390Adapter',
            indAddr: 0n,
            summaryAddr: 0n,
            indOffset: 0n,
            summaryOffset: 0,
            adapterId: 0,
          },
        ],
        [],
      ],
    ]
    for (const [rule, mode, bad, good] of witnesses) {
      const vm = vms.get(mode) as Vm
      expect(checkRouting(bad, optionsFor(mode, true))?.rule, rule).toBe(rule)
      expect(kernelVerdict(vm, encodeRouting(bad)), `${rule}: KVM rejects`).toEqual({
        accepted: false,
        code: 'EINVAL',
      })
      expect(checkRouting(good, optionsFor(mode, true)), `${rule} fixed`).toBeUndefined()
      expect(kernelVerdict(vm, encodeRouting(good)), `${rule} fixed: KVM accepts`).toEqual({
        accepted: true,
      })
    }
    // what KVM accepts that an older or stricter reading might not
    const accepted: [string, Mode, RoutingEntry[]][] = [
      ['empty table', 'kernel', []],
      [
        'Xen ports past 4096 at set time (default policy: any port)',
        'kernel',
        [xen(1, 4096), xen(2, 0xffff_ffff), xen(3, 1024)],
      ],
      [
        'Xen port 0 and an unknown vCPU',
        'kernel',
        [xen(1, 0), { gsi: 2, type: 'xenEvtchn', port: 1, vcpu: 0xffff_ffff }],
      ],
      [
        'HV_SINT with any vcpu and sint',
        'kernel',
        [{ gsi: 1, type: 'hvSint', vcpu: 0xffff_ffff, sint: 0xffff_ffff }],
      ],
      ['address_hi free without the x2APIC format', 'kernel', [msi(1, { addressHi: 0xff })]],
      ['non-irqchip routes with a split irqchip', 'split', [msi(1), xen(2, 3)]],
      [
        'PIC master, slave and IOAPIC on one GSI',
        'kernel',
        [irqchip(3, 0, 3), irqchip(3, 1, 3), irqchip(3, 2, 3)],
      ],
    ]
    for (const [what, mode, table] of accepted) {
      expect(checkRouting(table, optionsFor(mode, msiDevidCap)), what).toBeUndefined()
      expect(kernelVerdict(vms.get(mode) as Vm, encodeRouting(table)), what).toEqual({
        accepted: true,
      })
    }
    // the documented devid difference: KVM takes the flag without advertising the capability
    const devid = [msi(1, { devid: 9 })]
    expect(kernelVerdict(vms.get('kernel') as Vm, encodeRouting(devid))).toEqual({ accepted: true })
    expect(checkRouting(devid, optionsFor('kernel', msiDevidCap))?.rule).toBe(
      msiDevidCap ? undefined : 'msi-devid',
    )
    expect(checkRouting(devid, optionsFor('kernel', true))).toBeUndefined()
  })

  it('rejects what the model cannot express, as decodeRouting does', () => {
    const vm = vms.get('kernel') as Vm
    const base = encodeRouting([
      { gsi: 30, type: 'msi', addressLo: 0xfee0_0000, addressHi: 0, data: 0x31 },
    ])
    const patched = (at: number, value: number) => {
      const b = base.slice()
      new DataView(b.buffer).setUint32(at, value, true)
      return b
    }
    const raw = {
      'header flags': patched(4, 1),
      'entry type 0': patched(8 + 4, 0),
      'entry type 6': patched(8 + 4, 6),
      'MSI flag 2': patched(8 + 8, 2),
      'MSI flags 3': patched(8 + 8, 3),
    }
    for (const [what, bytes] of Object.entries(raw)) {
      expect(kernelVerdict(vm, bytes), what).toEqual({ accepted: false, code: 'EINVAL' })
      expect(() => decodeRouting(bytes), what).toThrow(RoutingError)
    }
    expect(kernelVerdict(vm, base)).toEqual({ accepted: true })
  })
})

/** Polls `f` until it is true: irqfd delivery may run from a kernel workqueue. */
async function until(f: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (f()) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`never happened: ${what}`)
}

describe('RoutingTable on a real VM', () => {
  it('orders irqfds around commits and keeps the old table when KVM rejects one', async () => {
    const vm = kvm.createVm()
    try {
      vm.createIrqchip()
      const ram = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x20_0000 })
      const SHINFO = 0x10_000
      const VCPU_INFO = 0x11_000
      vm.xenHvmConfig({ flags: abi.KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL, msr: 0x4000_0000 })
      vm.xenHvmSetAttr({ type: 'LONG_MODE', longMode: true })
      vm.xenHvmSetAttr({ type: 'SHARED_INFO', gfn: BigInt(SHINFO >> 12) })
      const vcpu = vm.createVcpu(0)
      vcpu.xenVcpuSetAttr({ type: 'VCPU_INFO', gpa: BigInt(VCPU_INFO) })
      const mem = new Uint8Array(ram.buffer)
      // 64-bit shared_info: evtchn_pending at +0x800, port p in byte p >> 3, bit p & 7
      const pending = (port: number) => ((mem[SHINFO + 0x800 + (port >> 3)] ?? 0) >> (port & 7)) & 1
      const clearPending = (port: number) => {
        mem[SHINFO + 0x800 + (port >> 3)] =
          (mem[SHINFO + 0x800 + (port >> 3)] ?? 0) & ~(1 << (port & 7))
      }

      // maxRoutes above the kernel's on purpose: the validator lets gsi = maxRoutes through,
      // so KVM is the one to reject it below
      const table = new RoutingTable(vm, { maxRoutes: maxRoutes * 2 })
      const a = table.allocateGsi()
      const b = table.allocateGsi()
      table.add({ gsi: a, type: 'xenEvtchn', port: 3, vcpu: 0 })
      table.add({ gsi: b, type: 'xenEvtchn', port: 5, vcpu: 0 })
      const efdA = EventFd.create()
      const efdB = EventFd.create()
      table.attachIrqfd(a, efdA.fd) // waits: KVM has no route on `a` yet
      table.attachIrqfd(b, efdB.fd)
      expect(table.irqfds().map((f) => f.assigned)).toEqual([false, false])
      table.commit() // KVM_SET_GSI_ROUTING, then KVM_IRQFD
      expect(table.irqfds().map((f) => f.assigned)).toEqual([true, true])

      efdA.write(1n)
      await until(() => pending(3) === 1, 'port 3 pending through the irqfd on GSI a')
      clearPending(3)

      // a commit KVM rejects: GSI b goes (its irqfd is deassigned first), a GSI past the
      // kernel's limit comes
      table.remove(b)
      table.add({ gsi: maxRoutes, type: 'xenEvtchn', port: 7, vcpu: 0 })
      let rejected: unknown
      try {
        table.commit()
      } catch (error) {
        rejected = error
      }
      expect(rejected).toBeInstanceOf(KvmError)
      expect((rejected as KvmError).code).toBe('EINVAL')
      expect(table.committedRoutes().map((r) => r.gsi)).toContain(b)
      expect(table.routes()).toEqual(table.committedRoutes())
      // b's irqfd was bound again, and b's route is still in KVM
      expect(table.irqfds()).toEqual([
        { fd: efdA.fd, gsi: a, assigned: true },
        { fd: efdB.fd, gsi: b, assigned: true },
      ])
      efdB.write(1n)
      await until(() => pending(5) === 1, 'port 5 pending: the old table is still in force')

      // a commit KVM accepts: b goes, and its irqfd with it (deassigned before the route)
      table.releaseGsi(b)
      table.commit()
      expect(table.irqfds()).toEqual([{ fd: efdA.fd, gsi: a, assigned: true }])
      // KVM no longer holds efdB: binding it again is allowed (a bound fd would be EBUSY)
      vm.irqfd({ fd: efdB, gsi: a })
      expect(() => vm.irqfd({ fd: efdA, gsi: a })).toThrow(KvmError)
      vm.irqfd({ fd: efdB, gsi: a, deassign: true })

      // what KVM has is byte for byte what the table encodes
      expect(table.encode().byteLength).toBe(encodedSize(table.size))
      efdA.close()
      efdB.close()
    } finally {
      vm.close()
    }
  })
})

describe('README example', () => {
  it('routing-table.mjs raises port 3 through an irqfd and cleans up', () => {
    const example = fileURLToPath(new URL('../examples/routing-table.mjs', import.meta.url))
    const out = execFileSync(process.execPath, [example], { encoding: 'utf8' })
    expect(out.trim().split('\n')).toEqual(['port 3 pending: 1', 'routes: 40, irqfds: 0'])
  })
})
