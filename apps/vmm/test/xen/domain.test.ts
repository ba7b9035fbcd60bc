// XenDomain's wiring: what its hypercall dispatch reports reaches the machine. Issue 16 item 1:
// an exception inside a handler must reach the VMM bug counter; the fuzz suite asserts that the
// counter is 0, which a domain that dropped the report would pass too. The VM is a test double.
import { GuestMemory } from '@tsvmm/guest-memory'
import type { Vm } from '@tsvmm/kvm-sys'
import { type EvtchnClock, XenErrno } from '@tsvmm/xen-evtchn'
import { expect, it } from 'vitest'
import { bootRegisters, writeBootStructures } from '../../src/boot/boot.js'
import type { VcpuOps } from '../../src/vcpu/threads.js'
import { XenDomain } from '../../src/xen/domain.js'

const RAM = 4 * 1048576
const ARG = 0x200000

it('an exception inside a hypercall handler reaches bug(), a shutdown reaches shutdown()', () => {
  const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(RAM) }])
  writeBootStructures(memory, 64)
  const regs = bootRegisters(64, 0x100000)
  const paging = { cr0: regs.cr0, cr3: regs.cr3, cr4: regs.cr4, efer: regs.efer }
  const vm = {
    checkExtension: () => 0,
    xenHvmSetAttr: () => {},
    signalMsi: () => 1,
  } as unknown as Vm
  const vcpus: VcpuOps = {
    count: 2,
    apicId: (v) => v,
    // KVM refusing the vcpu_time_info area: VCPUOP_register_vcpu_time_memory_area's handler
    // does not expect it, so the exception escapes the handler.
    setAttr: (_, attr) => {
      if (attr.type === 'VCPU_TIME_INFO') throw new Error('KVM_XEN_VCPU_SET_ATTR: EINVAL')
    },
    kick: () => {},
  }
  const clock: EvtchnClock = { now: () => 0, schedule: () => ({}), cancel: () => {} }
  const bugs: string[] = []
  const logs: string[] = []
  const shutdowns: [number, number][] = []
  const domain = new XenDomain({
    vm,
    vcpus,
    memory,
    delivery: 'user',
    domid: 1,
    xenVersion: 0x4_0011,
    longMode: true,
    xen: true,
    clock,
    shutdown: (reason, vcpu) => shutdowns.push([reason, vcpu]),
    log: (level, m) => logs.push(`${level}: ${m}`),
    bug: (m) => bugs.push(m),
  })
  const call = (input: number, params: number[], vcpu = 0) =>
    domain.hypercall(
      { input: BigInt(input), params: params.map(BigInt), longMode: true, cpl: 0 },
      { vcpu, paging },
    )
  memory.writeU64(ARG, 0x250000n)
  expect(call(24, [13, 1, ARG], 1)).toBe(-XenErrno.EFAULT) // register_vcpu_time_memory_area
  expect(bugs).toHaveLength(1)
  expect(bugs[0]).toMatch(/hypercall 24 \(13\) from vCPU 1 threw: Error: KVM_XEN_VCPU_SET_ATTR/)
  expect(logs.filter((l) => l.includes('threw'))).toEqual([])
  memory.writeU32(ARG, 0) // SHUTDOWN_poweroff
  expect(call(29, [2, ARG], 1)).toBe(0) // SCHEDOP_shutdown
  expect(shutdowns).toEqual([[0, 1]])
  expect(bugs).toHaveLength(1)
  domain.dispose()
})
