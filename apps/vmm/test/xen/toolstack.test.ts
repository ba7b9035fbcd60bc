import { Xenstore, XenstoreError } from '@tsvmm/xenstore'
import { describe, expect, it } from 'vitest'
import { GUEST_CONTROL_NODES, introduceDomain } from '../../src/xen/toolstack.js'

const UUID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301'
const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe('introduceDomain: the store a toolstack leaves for an HVM guest', () => {
  const store = new Xenstore()
  const home = introduceDomain(store, { domid: 1, name: 'vm1', uuid: UUID, memoryKiB: 524288 })

  it('names the domain and links its /vm/<uuid> entry (what /sys/hypervisor/uuid falls back to)', () => {
    expect(home).toBe('/local/domain/1')
    // As the guest reads them (relative paths resolve to its home).
    expect(text(store.read(1, 0, 'name'))).toBe('vm1')
    expect(text(store.read(1, 0, 'domid'))).toBe('1')
    expect(text(store.read(1, 0, 'memory/target'))).toBe('524288')
    const vm = text(store.read(1, 0, 'vm'))
    expect(vm).toBe(`/vm/${UUID}`)
    expect(text(store.read(1, 0, `${vm}/uuid`))).toBe(UUID)
    expect(store.directory(1, 0, 'control').children).toEqual(
      expect.arrayContaining([...GUEST_CONTROL_NODES, 'platform-feature-xs_reset_watches']),
    )
  })

  it('lets the guest write its control features and data, not its name, uuid or domid', () => {
    store.write(1, 0, 'control/feature-poweroff', '1')
    store.write(1, 0, 'control/shutdown', '')
    store.write(1, 0, 'data/updated', 'now')
    store.write(1, 0, 'device/vif', '')
    for (const path of ['name', 'domid', 'vm', `/vm/${UUID}/uuid`, 'control/new-node'])
      expect(() => store.write(1, 0, path, 'x'), path).toThrow(XenstoreError)
    expect(() => store.rm(1, 0, 'control')).toThrow(XenstoreError)
    // Another domain sees nothing of it.
    expect(() => store.read(2, 0, '/local/domain/1/name')).toThrow(XenstoreError)
  })
})
