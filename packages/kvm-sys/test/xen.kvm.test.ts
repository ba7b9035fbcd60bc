// Xen HVM on real KVM (needs a kernel with CONFIG_KVM_XEN): every VM and vCPU attribute type,
// XEN_EVTCHN GSI routes, irqfd on such a route setting the pending bit in guest memory,
// KVM_XEN_HVM_EVTCHN_SEND, kernel-handled EVTCHNOP_send, a hypercall exit whose result the guest
// sees, and upcall vector delivery. Guests are hand-assembled real-mode bytes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import * as abi from '../src/abi.js'
import { EventFd, Kvm, type MemoryRegion, type Vcpu, type Vm } from '../src/index.js'
import { encodeRouting, enterRealMode, waitFor } from './helpers/guest.js'

// Xen's port types (xen/event_channel.h); kvm-sys does not export Xen numbers.
const EVTCHNSTAT_interdomain = 2
const EVTCHNSTAT_ipi = 5

const kvm = Kvm.open()
afterAll(() => kvm.close())

const SHINFO = 0x8000 // shared_info page (gfn 8); vcpu_info[0] at its start
const PENDING = SHINFO + 0x800 // 64-bit layout: evtchn_pending[64] u64
const UPCALL = 0x40
const X = abi.KVM_XEN_HVM_CONFIG_FLAGS

let xenFlags = 0
beforeAll(() => {
  xenFlags = kvm.checkExtension(abi.Cap.XEN_HVM)
})

let vm: Vm
const fds: EventFd[] = []
afterEach(() => {
  vm?.close()
  for (const f of fds.splice(0)) f.close()
})

function eventfd(): EventFd {
  const f = EventFd.create()
  fds.push(f)
  return f
}

/** A Xen HVM VM: 64 KiB RAM, irqchip, hypercalls intercepted, shared_info at gfn 8. */
function xenVm(code: number[] = [0xf4]): { vcpu: Vcpu; ram: Uint8Array; region: MemoryRegion } {
  vm = kvm.createVm()
  vm.createIrqchip()
  const region = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 })
  const ram = new Uint8Array(region.buffer)
  ram.set(code, 0x1000)
  vm.xenHvmConfig({ flags: X.INTERCEPT_HCALL | X.EVTCHN_SEND, msr: 0x40000000 })
  vm.xenHvmSetAttr({ type: 'LONG_MODE', longMode: true })
  vm.xenHvmSetAttr({ type: 'SHARED_INFO', gfn: BigInt(SHINFO >> 12) })
  const vcpu = vm.createVcpu(0)
  vcpu.xenVcpuSetAttr({ type: 'VCPU_INFO', gpa: BigInt(SHINFO) })
  enterRealMode(vcpu)
  return { vcpu, ram, region }
}

const pendingBit = (ram: Uint8Array, port: number) =>
  ((ram[PENDING + (port >> 3)] ?? 0) >> (port & 7)) & 1

function expectOut(vcpu: Vcpu, port: number): number {
  const reason = vcpu.run()
  expect(reason, `exit ${reason} instead of OUT 0x${port.toString(16)}`).toBe(abi.KVM_EXIT_IO)
  expect(vcpu.kvmRun.io).toMatchObject({ isOut: true, port })
  // The OUT's bytes, little-endian (1, 2 or 4 of them).
  return vcpu.kvmRun.io.data.reduceRight((acc, b) => acc * 256 + b, 0)
}

describe('Xen capability', () => {
  it('KVM_CAP_XEN_HVM offers 2-level event channels and EVTCHN_SEND here', () => {
    const { features } = kvm.capabilities().xenHvm
    expect(features.SHARED_INFO).toBe(true)
    expect(features.EVTCHN_2LEVEL).toBe(true)
    expect(features.EVTCHN_SEND).toBe(true)
  })
})

describe('KVM_XEN_HVM_SET_ATTR / GET_ATTR (every VM attribute type)', () => {
  it('LONG_MODE, SHARED_INFO, UPCALL_VECTOR, XEN_VERSION round-trip', () => {
    xenVm()
    expect(vm.xenHvmGetAttr('LONG_MODE')).toEqual({ type: 'LONG_MODE', longMode: true })
    vm.xenHvmSetAttr({ type: 'LONG_MODE', longMode: false })
    expect(vm.xenHvmGetAttr('LONG_MODE').longMode).toBe(false)
    expect(vm.xenHvmGetAttr('SHARED_INFO').gfn).toBe(8n)
    vm.xenHvmSetAttr({ type: 'UPCALL_VECTOR', vector: UPCALL })
    expect(vm.xenHvmGetAttr('UPCALL_VECTOR')).toEqual({ type: 'UPCALL_VECTOR', vector: UPCALL })
    vm.xenHvmSetAttr({ type: 'XEN_VERSION', version: 0x4000a })
    expect(vm.xenHvmGetAttr('XEN_VERSION').version).toBe(0x4000a)
    vm.xenHvmSetAttr({ type: 'SHARED_INFO', gfn: abi.KVM_XEN_INVALID_GFN })
    expect(vm.xenHvmGetAttr('SHARED_INFO').gfn).toBe(abi.KVM_XEN_INVALID_GFN)
  })

  it('SHARED_INFO_HVA inside guest memory round-trips; outside it is refused (EFAULT)', () => {
    const { region } = xenVm()
    const hva = region.hostAddress + BigInt(SHINFO)
    if ((xenFlags & X.SHARED_INFO_HVA) === 0) {
      expect(() => vm.xenHvmSetAttr({ type: 'SHARED_INFO_HVA', hva })).toThrow(
        expect.objectContaining({ hint: expect.stringContaining('SHARED_INFO_HVA') }),
      )
      return
    }
    vm.xenHvmSetAttr({ type: 'SHARED_INFO_HVA', hva })
    expect(vm.xenHvmGetAttr('SHARED_INFO_HVA')).toEqual({ type: 'SHARED_INFO_HVA', hva })
    // A page past the region, or one straddling its end: the addon refuses before the kernel.
    for (const bad of [region.hostAddress + 0x10000n, region.hostAddress + 0xf800n])
      expect(() => vm.xenHvmSetAttr({ type: 'SHARED_INFO_HVA', hva: bad })).toThrow(
        expect.objectContaining({ code: 'EFAULT', syscall: 'KVM_XEN_HVM_SET_ATTR' }),
      )
    vm.xenHvmSetAttr({ type: 'SHARED_INFO_HVA', hva: 0n })
    expect(vm.xenHvmGetAttr('SHARED_INFO_HVA').hva).toBe(0n)
  })

  it('RUNSTATE_UPDATE_FLAG round-trips', () => {
    xenVm()
    vm.xenHvmSetAttr({ type: 'RUNSTATE_UPDATE_FLAG', enabled: true })
    expect(vm.xenHvmGetAttr('RUNSTATE_UPDATE_FLAG').enabled).toBe(true)
    vm.xenHvmSetAttr({ type: 'RUNSTATE_UPDATE_FLAG', enabled: false })
    expect(vm.xenHvmGetAttr('RUNSTATE_UPDATE_FLAG').enabled).toBe(false)
  })

  it('EVTCHN: assign, update, deassign, reset; there is nothing to GET', () => {
    xenVm()
    vm.createVcpu(1)
    const ipi = (flags: number, vcpu = 0, port = 7) => ({
      type: 'EVTCHN' as const,
      sendPort: 7,
      evtchnType: EVTCHNSTAT_ipi,
      flags,
      deliver: { port, vcpu },
    })
    vm.xenHvmSetAttr(ipi(0))
    expect(() => vm.xenHvmSetAttr(ipi(0))).toThrow(expect.objectContaining({ code: 'EEXIST' }))
    // An IPI loops back to its own port; UPDATE may move it to another vCPU, nothing else.
    expect(() => vm.xenHvmSetAttr({ ...ipi(0), sendPort: 8 })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    )
    vm.xenHvmSetAttr(ipi(abi.KVM_XEN_EVTCHN_UPDATE, 1))
    expect(() => vm.xenHvmSetAttr(ipi(abi.KVM_XEN_EVTCHN_UPDATE, 0, 9))).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    )
    vm.xenHvmSetAttr(ipi(abi.KVM_XEN_EVTCHN_DEASSIGN))
    expect(() => vm.xenHvmSetAttr(ipi(abi.KVM_XEN_EVTCHN_DEASSIGN))).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    )
    vm.xenHvmSetAttr({
      type: 'EVTCHN',
      sendPort: 9,
      evtchnType: EVTCHNSTAT_interdomain,
      flags: 0,
      deliver: { eventfd: eventfd().fd },
    })
    vm.xenHvmSetAttr(ipi(0))
    vm.xenHvmSetAttr({ ...ipi(abi.KVM_XEN_EVTCHN_RESET), sendPort: 0 })
    vm.xenHvmSetAttr(ipi(0)) // the reset freed port 7
    expect(() => vm.xenHvmGetAttr('EVTCHN')).toThrow(
      expect.objectContaining({ syscall: 'KVM_XEN_HVM_GET_ATTR' }),
    )
  })
})

describe('KVM_XEN_VCPU_SET_ATTR / GET_ATTR (every vCPU attribute type)', () => {
  it('VCPU_INFO, VCPU_TIME_INFO, RUNSTATE_ADDR round-trip their GPAs', () => {
    const { vcpu } = xenVm()
    expect(vcpu.xenVcpuGetAttr('VCPU_INFO')).toEqual({ type: 'VCPU_INFO', gpa: BigInt(SHINFO) })
    vcpu.xenVcpuSetAttr({ type: 'VCPU_TIME_INFO', gpa: 0x9000n })
    expect(vcpu.xenVcpuGetAttr('VCPU_TIME_INFO').gpa).toBe(0x9000n)
    vcpu.xenVcpuSetAttr({ type: 'RUNSTATE_ADDR', gpa: 0x9100n })
    expect(vcpu.xenVcpuGetAttr('RUNSTATE_ADDR').gpa).toBe(0x9100n)
    vcpu.xenVcpuSetAttr({ type: 'VCPU_INFO', gpa: abi.KVM_XEN_INVALID_GPA })
    expect(vcpu.xenVcpuGetAttr('VCPU_INFO').gpa).toBe(abi.KVM_XEN_INVALID_GPA)
  })

  it('VCPU_INFO_HVA inside guest memory round-trips; outside it is refused (EFAULT)', () => {
    const { vcpu, region } = xenVm()
    const hva = region.hostAddress + BigInt(SHINFO + 64)
    if ((xenFlags & X.SHARED_INFO_HVA) === 0) {
      expect(() => vcpu.xenVcpuSetAttr({ type: 'VCPU_INFO_HVA', hva })).toThrow(
        expect.objectContaining({ hint: expect.stringContaining('SHARED_INFO_HVA') }),
      )
      return
    }
    vcpu.xenVcpuSetAttr({ type: 'VCPU_INFO_HVA', hva })
    expect(vcpu.xenVcpuGetAttr('VCPU_INFO_HVA')).toEqual({ type: 'VCPU_INFO_HVA', hva })
    expect(() =>
      vcpu.xenVcpuSetAttr({ type: 'VCPU_INFO_HVA', hva: region.hostAddress + 0x10000n - 32n }),
    ).toThrow(expect.objectContaining({ code: 'EFAULT', syscall: 'KVM_XEN_VCPU_SET_ATTR' }))
    vcpu.xenVcpuSetAttr({ type: 'VCPU_INFO_HVA', hva: 0n })
  })

  it('RUNSTATE_CURRENT, RUNSTATE_DATA and RUNSTATE_ADJUST', () => {
    const { vcpu } = xenVm()
    vcpu.xenVcpuSetAttr({ type: 'RUNSTATE_ADDR', gpa: 0x9100n })
    vcpu.xenVcpuSetAttr({ type: 'RUNSTATE_CURRENT', state: 2 }) // blocked
    expect(vcpu.xenVcpuGetAttr('RUNSTATE_CURRENT').state).toBe(2)
    const data = {
      state: 0n,
      stateEntryTime: 1000n,
      timeRunning: 1000n,
      timeRunnable: 0n,
      timeBlocked: 0n,
      timeOffline: 0n,
    }
    vcpu.xenVcpuSetAttr({ type: 'RUNSTATE_DATA', ...data })
    expect(vcpu.xenVcpuGetAttr('RUNSTATE_DATA')).toEqual({ type: 'RUNSTATE_DATA', ...data })
    vcpu.xenVcpuSetAttr({
      type: 'RUNSTATE_ADJUST',
      state: -1n, // keep the state
      stateEntryTime: 500n,
      timeRunning: 500n,
      timeRunnable: 0n,
      timeBlocked: 0n,
      timeOffline: 0n,
    })
    expect(vcpu.xenVcpuGetAttr('RUNSTATE_DATA')).toMatchObject({
      state: 0n,
      stateEntryTime: 1500n,
      timeRunning: 1500n,
    })
    // Inconsistent times are refused.
    expect(() => vcpu.xenVcpuSetAttr({ type: 'RUNSTATE_DATA', ...data, timeBlocked: 1n })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    )
  })

  it('VCPU_ID, TIMER and UPCALL_VECTOR round-trip; vectors 1-15 are EINVAL', () => {
    const { vcpu } = xenVm()
    vcpu.xenVcpuSetAttr({ type: 'VCPU_ID', vcpuId: 5 })
    expect(vcpu.xenVcpuGetAttr('VCPU_ID')).toEqual({ type: 'VCPU_ID', vcpuId: 5 })
    const prio = abi.KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL
    vcpu.xenVcpuSetAttr({ type: 'TIMER', port: 3, priority: prio, expiresNs: 0n })
    expect(vcpu.xenVcpuGetAttr('TIMER')).toEqual({
      type: 'TIMER',
      port: 3,
      priority: prio,
      expiresNs: 0n,
    })
    vcpu.xenVcpuSetAttr({ type: 'UPCALL_VECTOR', vector: 0x41 })
    expect(vcpu.xenVcpuGetAttr('UPCALL_VECTOR').vector).toBe(0x41)
    expect(() => vcpu.xenVcpuSetAttr({ type: 'UPCALL_VECTOR', vector: 0x0f })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    )
  })
})

describe('event channels', () => {
  const xenRoute = (gsi: number, port: number, priority: number) => ({
    gsi,
    type: abi.KVM_IRQ_ROUTING_XEN_EVTCHN,
    u: [port, 0, priority],
  })

  it('GSI routing takes every x86 entry type and rejects a Xen entry whose priority is 16', () => {
    xenVm()
    const prio = abi.KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL
    const all = [
      { gsi: 0, type: abi.KVM_IRQ_ROUTING_IRQCHIP, u: [abi.KVM_IRQCHIP_PIC_MASTER, 0] },
      { gsi: 0, type: abi.KVM_IRQ_ROUTING_IRQCHIP, u: [abi.KVM_IRQCHIP_IOAPIC, 2] },
      { gsi: 8, type: abi.KVM_IRQ_ROUTING_IRQCHIP, u: [abi.KVM_IRQCHIP_PIC_SLAVE, 0] },
      { gsi: 24, type: abi.KVM_IRQ_ROUTING_MSI, u: [0xfee00000, 0, 0x41] },
      ...(kvm.checkExtension(abi.Cap.HYPERV) > 0
        ? [{ gsi: 25, type: abi.KVM_IRQ_ROUTING_HV_SINT, u: [0, 2] }]
        : []),
      xenRoute(10, 3, prio),
      xenRoute(11, 0, prio), // port 0 is accepted at set time
    ]
    vm.setGsiRouting(encodeRouting(all))
    for (const bad of [xenRoute(12, 3, 16), xenRoute(12, 3, 0)])
      expect(() => vm.setGsiRouting(encodeRouting([...all, bad]))).toThrow(
        expect.objectContaining({ code: 'EINVAL', syscall: 'KVM_SET_GSI_ROUTING' }),
      )
  })

  it('a hypercall exit, irqfd on a XEN_EVTCHN route, EVTCHN_SEND and the upcall vector', () => {
    const code = [
      ...[0x66, 0xb8, 0x11, 0x00, 0x00, 0x00], // mov eax, 17 (xen_version)
      ...[0x0f, 0x01, 0xd9], // vmmcall
      ...[0xba, 0x11, 0x00, 0x66, 0xef], // mov dx, 0x11; out dx, eax
      ...[0xfb, 0xf4, 0xeb, 0xfd], // sti; l: hlt; jmp l
    ]
    const { vcpu, ram } = xenVm(code)
    // Upcall handler: clear upcall_pending; out 0x12, 0x40; iret
    ram.set([0xc6, 0x06, 0x00, 0x80, 0x00, 0xba, 0x12, 0x00, 0xb0, UPCALL, 0xee, 0xcf], 0x2000)
    new DataView(ram.buffer).setUint32(UPCALL * 4, 0x2000, true)
    vm.xenHvmSetAttr({ type: 'UPCALL_VECTOR', vector: UPCALL })
    const prio = abi.KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL
    vm.setGsiRouting(encodeRouting([xenRoute(10, 3, prio)]))
    const ev = eventfd()
    vm.irqfd({ fd: ev, gsi: 10 })

    expect(vcpu.run()).toBe(abi.KVM_EXIT_XEN)
    const hc = vcpu.kvmRun.xen
    expect(hc).toMatchObject({ type: abi.KVM_EXIT_XEN_HCALL, input: 17n, cpl: 0 })
    vcpu.kvmRun.xenHcallResult = 0x4000cn

    // While the vCPU is out: port 3 through irqfd, port 5 through KVM_XEN_HVM_EVTCHN_SEND.
    ev.write(1n)
    expect(waitFor(() => pendingBit(ram, 3) === 1)).toBe(true)
    const sel = new DataView(ram.buffer).getBigUint64(SHINFO + 8, true)
    expect(sel & 1n).toBe(1n)
    expect(ram[SHINFO]).toBe(1) // evtchn_upcall_pending
    vm.xenEvtchnSend({ port: 5, vcpu: 0 })
    expect(pendingBit(ram, 5)).toBe(1)
    expect(() => vm.xenEvtchnSend({ port: 6, vcpu: 0, priority: 16 })).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'KVM_XEN_HVM_EVTCHN_SEND' }),
    )
    expect(() => vm.xenEvtchnSend({ port: 0, vcpu: 0 })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    )

    expect(expectOut(vcpu, 0x11)).toBe(0x4000c) // the hypercall result the guest saw
    expect(expectOut(vcpu, 0x12) & 0xff).toBe(UPCALL) // the upcall vector was delivered
    expect(ram[SHINFO]).toBe(0) // and its handler ran

    // Deassigned, the irqfd no longer reaches the port; the count stays in the eventfd.
    ram[PENDING] = (ram[PENDING] ?? 0) & ~(1 << 3)
    vm.irqfd({ fd: ev, gsi: 10, deassign: true })
    ev.write(1n)
    expect(ev.read()).toBe(1n)
    expect(pendingBit(ram, 3)).toBe(0)
  })

  it('the per-vCPU upcall vector is delivered through the local APIC', () => {
    // sti; out 0x30, al; l: hlt; jmp l. Vector 0x41 handler: mov al, 0x41; out 0x14, al; jmp $
    const { vcpu, ram } = xenVm([0xfb, 0xe6, 0x30, 0xf4, 0xeb, 0xfd])
    ram.set([0xb0, 0x41, 0xe6, 0x14, 0xeb, 0xfe], 0x2000)
    new DataView(ram.buffer).setUint32(0x41 * 4, 0x2000, true)
    const lapic = vcpu.getLapic()
    new DataView(lapic.buffer).setUint32(0xf0, 0x1ff, true) // SVR: APIC software-enabled
    vcpu.setLapic(lapic)
    vcpu.xenVcpuSetAttr({ type: 'UPCALL_VECTOR', vector: 0x41 })
    expect(expectOut(vcpu, 0x30)).toBeGreaterThanOrEqual(0)
    vm.xenEvtchnSend({ port: 12, vcpu: 0 })
    expect(pendingBit(ram, 12)).toBe(1)
    expect(ram[SHINFO]).toBe(1)
    expect(expectOut(vcpu, 0x14)).toBe(0x41)
  })

  it('EVTCHN assignments: a guest EVTCHNOP_send signals an eventfd or loops back to a port', () => {
    const send = (at: number) => [
      ...[0x66, 0xbb, 0x04, 0x00, 0x00, 0x00], // mov ebx, EVTCHNOP_send
      ...[0x66, 0xb9, at & 0xff, at >> 8, 0x00, 0x00], // mov ecx, &evtchn_send
      ...[0x66, 0xb8, 0x20, 0x00, 0x00, 0x00], // mov eax, 32 (event_channel_op)
      ...[0x0f, 0x01, 0xd9], // vmmcall
      ...[0xba, 0x13, 0x00, 0x66, 0xef], // mov dx, 0x13; out dx, eax
    ]
    const { vcpu, ram } = xenVm([...send(0x3000), ...send(0x3004), ...send(0x3008), 0xeb, 0xfe])
    const v = new DataView(ram.buffer)
    v.setUint32(0x3000, 9, true)
    v.setUint32(0x3004, 7, true)
    v.setUint32(0x3008, 11, true) // not assigned: userspace handles it
    const ev = eventfd()
    const assign = (
      sendPort: number,
      deliver: { eventfd: number } | { port: number; vcpu: number },
    ) =>
      vm.xenHvmSetAttr({
        type: 'EVTCHN',
        sendPort,
        evtchnType: 'eventfd' in deliver ? EVTCHNSTAT_interdomain : EVTCHNSTAT_ipi,
        flags: 0,
        deliver,
      })
    assign(9, { eventfd: ev.fd })
    assign(7, { port: 7, vcpu: 0 })

    expect(expectOut(vcpu, 0x13)).toBe(0)
    expect(ev.read()).toBe(1n)
    expect(expectOut(vcpu, 0x13)).toBe(0)
    expect(pendingBit(ram, 7)).toBe(1)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_XEN)
    expect(vcpu.kvmRun.xen).toMatchObject({ input: 32n, longmode: 0 })
    expect(vcpu.kvmRun.xen.params.slice(0, 2)).toEqual([4n, 0x3008n])
    vcpu.kvmRun.xenHcallResult = BigInt.asUintN(64, -2n) // -ENOENT
    expect(expectOut(vcpu, 0x13)).toBe(0xfffffffe)
  })

  it("a watched eventfd hears the guest's EVTCHNOP_send on the next turn of the loop", async () => {
    // mov ebx, EVTCHNOP_send; mov ecx, 0x3000; mov eax, 32; vmmcall; out 0x13, eax; jmp $
    const { vcpu, ram } = xenVm([
      ...[0x66, 0xbb, 0x04, 0x00, 0x00, 0x00],
      ...[0x66, 0xb9, 0x00, 0x30, 0x00, 0x00],
      ...[0x66, 0xb8, 0x20, 0x00, 0x00, 0x00],
      ...[0x0f, 0x01, 0xd9],
      ...[0xba, 0x13, 0x00, 0x66, 0xef],
      ...[0xeb, 0xfe],
    ])
    new DataView(ram.buffer).setUint32(0x3000, 9, true)
    const ev = eventfd()
    vm.xenHvmSetAttr({
      type: 'EVTCHN',
      sendPort: 9,
      evtchnType: EVTCHNSTAT_interdomain,
      flags: 0,
      deliver: { eventfd: ev.fd },
    })
    const heard = new Promise<bigint>((resolve) =>
      ev.watch((count) => {
        ev.unwatch()
        resolve(count)
      }),
    )
    expect(expectOut(vcpu, 0x13)).toBe(0) // the kernel took the send
    expect(await heard).toBe(1n)
  })
})
