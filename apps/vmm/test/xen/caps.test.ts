import type { CapabilityReport } from '@tsvmm/kvm-sys'
import { decodeXenHvmFlags } from '@tsvmm/kvm-sys'
import { describe, expect, it } from 'vitest'
import { VmmError } from '../../src/errors.js'
import { capsReport, chooseDelivery, formatCaps } from '../../src/xen/caps.js'

function report(
  xenFlags: number,
  caps: Partial<CapabilityReport['capabilities']> = {},
): CapabilityReport {
  const all = {
    SPLIT_IRQCHIP: 1,
    SIGNAL_MSI: 1,
    ADJUST_CLOCK: 1,
    GET_TSC_KHZ: 1,
    IRQ_ROUTING: 4096,
    IRQFD: 1,
    ...caps,
  }
  return {
    apiVersion: 12,
    vcpuMmapSize: 12288,
    capabilities: new Proxy(all, {
      get: (t, k: string) => (t as Record<string, number>)[k] ?? 0,
    }) as CapabilityReport['capabilities'],
    xenHvm: { flags: xenFlags, features: decodeXenHvmFlags(xenFlags) },
    kickSignal: 34,
  }
}

describe('capability report', () => {
  it('with every Xen feature: every path in the kernel, auto picks kernel', () => {
    const r = capsReport(report(0x1ff))
    expect(r.blocker).toBeUndefined()
    expect(r.autoDelivery).toBe('kernel')
    expect(r.offload.every((o) => o.kernel)).toBe(true)
    expect(chooseDelivery(r, 'auto')).toBe('kernel')
    expect(chooseDelivery(r, 'user')).toBe('user')
    expect(formatCaps(r)).toMatch(/--delivery auto picks: kernel/)
  })

  it('without EVTCHN_SEND: user delivery, and says which paths are missing and why', () => {
    const r = capsReport(report(0x1ff & ~(1 << 5)))
    expect(r.autoDelivery).toBe('user')
    expect(r.offload.find((o) => o.path.startsWith('VMM -> guest'))).toEqual({
      path: 'VMM -> guest (KVM_XEN_HVM_EVTCHN_SEND)',
      kernel: false,
      why: 'KVM lacks KVM_XEN_HVM_CONFIG_EVTCHN_SEND',
    })
    expect(chooseDelivery(r, 'auto')).toBe('user')
    expect(() => chooseDelivery(r, 'kernel')).toThrow(
      /--delivery kernel: this KVM lacks XEN_HVM EVTCHN_SEND/,
    )
  })

  it('without Xen at all: no run is possible, exit code 4', () => {
    const r = capsReport(report(0))
    expect(r.blocker).toMatch(/KVM lacks KVM_CAP_XEN_HVM/)
    expect(r.autoDelivery).toBeNull()
    let e: unknown
    try {
      chooseDelivery(r, 'auto')
    } catch (x) {
      e = x
    }
    expect(e).toBeInstanceOf(VmmError)
    expect((e as VmmError).exitCode).toBe(4)
  })

  it('without irqfd: the device path stays in userspace', () => {
    const r = capsReport(report(0x1ff, { IRQFD: 0 }))
    expect(r.autoDelivery).toBe('user')
    expect(r.offload[0]).toMatchObject({
      kernel: false,
      why: 'KVM lacks KVM_CAP_IRQFD or KVM_CAP_IRQ_ROUTING',
    })
  })
})
