import { describe, expect, it } from 'vitest'
import * as abi from '../src/abi.js'
import { loadNative } from '../src/native.js'

describe('abi matches C compiled against <linux/kvm.h>', () => {
  const { uapi } = loadNative()
  it('routing header and entry sizes', () => {
    expect(uapi.sizeof_kvm_irq_routing).toBe(abi.KVM_IRQ_ROUTING.size)
    expect(uapi.sizeof_kvm_irq_routing_entry).toBe(abi.KVM_IRQ_ROUTING_ENTRY.size)
  })
  it('api version', () => {
    expect(uapi.KVM_API_VERSION).toBe(abi.KVM_API_VERSION)
  })
})
