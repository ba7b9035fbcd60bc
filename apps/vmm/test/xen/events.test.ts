// XenEvents with user delivery: an upcall is injected into the vCPU the event is for, with that
// vCPU's own vector (issue 16 item 3: the demo's ipi check could not see a VMM that swapped
// upcall targets). The VM is a test double that records KVM_SIGNAL_MSI; the engine is real.
import { GuestMemory } from '@tsvmm/guest-memory'
import type { Msi, Vm } from '@tsvmm/kvm-sys'
import {
  EVTCHNOP,
  type EvtchnClock,
  EvtchnEngine,
  VCPU_INFO_SIZE,
  VCPU_INFO_UPCALL_PENDING,
} from '@tsvmm/xen-evtchn'
import { describe, expect, it } from 'vitest'
import type { VcpuOps } from '../../src/vcpu/threads.js'
import { XenEvents } from '../../src/xen/events.js'

const RAM = 0x100000
const SHINFO = 0x10000
const ARG = 0x20000
const VCPUS = 3
/** APIC IDs that are not the vCPU numbers, so that a mix-up of the two shows. */
const apicId = (vcpu: number) => 4 + 2 * vcpu

const idleClock: EvtchnClock = { now: () => 0, schedule: () => ({}), cancel: () => {} }

function setup() {
  const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(RAM) }])
  const msis: Msi[] = []
  const kicks: number[] = []
  const vm = {
    checkExtension: () => 0,
    signalMsi: (m: Msi) => msis.push(m) && 1,
    xenHvmSetAttr: () => {
      throw new Error('user delivery without Xen in KVM sets no attribute')
    },
  } as unknown as Vm
  const vcpus: VcpuOps = {
    count: VCPUS,
    apicId,
    setAttr: () => {
      throw new Error('user delivery without Xen in KVM sets no vCPU attribute')
    },
    kick: (v) => kicks.push(v),
  }
  const events = new XenEvents(vm, vcpus, memory, 'user', false)
  const engine = new EvtchnEngine({
    memory,
    vcpus: VCPUS,
    longMode: true,
    notify: (v) => events.notify(v),
    clock: idleClock,
    domid: 1,
  })
  events.attach(engine)
  expect(events.mapSharedInfo(SHINFO)).toBe(0)
  const bindIpi = (vcpu: number) => {
    memory.writeU32(ARG, vcpu)
    expect(engine.hypercall(EVTCHNOP.bind_ipi, ARG, vcpu)).toBe(0)
    return memory.readU32(ARG + 4)
  }
  const send = (port: number, from: number) => {
    memory.writeU32(ARG, port)
    expect(engine.hypercall(EVTCHNOP.send, ARG, from)).toBe(0)
  }
  const upcallPending = (vcpu: number) =>
    memory.readU8(SHINFO + VCPU_INFO_SIZE * vcpu + VCPU_INFO_UPCALL_PENDING)
  /** Acks vCPU `vcpu`'s upcall as its handler does, so that the next event notifies again. */
  const ack = (vcpu: number) => {
    memory.writeU8(SHINFO + VCPU_INFO_SIZE * vcpu + VCPU_INFO_UPCALL_PENDING, 0)
    memory.writeU64(SHINFO + VCPU_INFO_SIZE * vcpu + 8, 0n)
    memory.fill(SHINFO + 0x800, 0x200, 0)
  }
  return { events, msis, kicks, bindIpi, send, upcallPending, ack }
}

const msiTo = (vcpu: number, vector: number): Msi => ({
  addressLo: (0xfee00000 | (apicId(vcpu) << 12)) >>> 0,
  data: vector,
})

describe('XenEvents, user delivery', () => {
  it('an IPI goes to the APIC of the vCPU the port is bound to, with that vCPU’s vector', () => {
    const { events, msis, bindIpi, send, upcallPending, ack } = setup()
    for (let v = 0; v < VCPUS; v++) events.setUpcallVector(v, 0xf0 + v)
    expect(msis).toEqual([])
    const ports = [0, 1, 2].map(bindIpi)
    // Each vCPU sends to the next one: the upcall is the target's, never the sender's.
    send(ports[1] as number, 0)
    expect(msis).toEqual([msiTo(1, 0xf1)])
    expect([0, 1, 2].map(upcallPending)).toEqual([0, 1, 0])
    send(ports[2] as number, 1)
    send(ports[0] as number, 2)
    expect(msis).toEqual([msiTo(1, 0xf1), msiTo(2, 0xf2), msiTo(0, 0xf0)])
    expect(events.injected).toEqual([1, 1, 1])
    // vCPU 1 acked its upcall: the next event for it is injected again, and only into it.
    ack(1)
    send(ports[1] as number, 2)
    expect(msis.slice(3)).toEqual([msiTo(1, 0xf1)])
    expect(events.injected).toEqual([1, 2, 1])
  })

  it('an upcall pending before its vCPU had a vector is injected when the vector is set', () => {
    const { events, msis, bindIpi, send } = setup()
    const port = bindIpi(2)
    send(port, 0)
    expect(msis).toEqual([])
    events.setUpcallVector(1, 0xe1) // another vCPU's vector: nothing for vCPU 2 yet
    expect(msis).toEqual([])
    events.setUpcallVector(2, 0xe2)
    expect(msis).toEqual([msiTo(2, 0xe2)])
  })

  it('with only the VM-wide callback vector, the target vCPU is kicked (KVM injects it)', () => {
    const { events, msis, kicks, bindIpi, send } = setup()
    events.setCallbackVector(0xf3)
    expect(kicks).toEqual([])
    send(bindIpi(2), 0)
    expect(kicks).toEqual([2])
    expect(msis).toEqual([])
  })
})
