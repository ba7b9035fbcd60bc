// Vm on real KVM: memory regions, irqchip / PIT / split irqchip, GSI routing of the x86 entry
// types, irqLine, signalMsi, irqfd (assign, deassign, resample), ioeventfd, TSS and identity
// map addresses, kvmclock. Guests are hand-assembled real-mode bytes.
import { constants } from 'node:buffer'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import * as abi from '../src/abi.js'
import { EventFd, Kvm, KvmError, type Vcpu, Vm } from '../src/index.js'
import { encodeRouting, enterRealMode, fdCount } from './helpers/guest.js'

const kvm = Kvm.open()
afterAll(() => kvm.close())

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

/** A VM with 64 KiB of RAM at 0, `code` at 0x1000 and vCPU 0 in real mode. */
function guest(code: number[], opts: { irqchip?: boolean } = {}): { vcpu: Vcpu; ram: Uint8Array } {
  vm = kvm.createVm()
  if (opts.irqchip) vm.createIrqchip()
  const ram = new Uint8Array(
    vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 }).buffer,
  )
  ram.set(code, 0x1000)
  const vcpu = vm.createVcpu(0)
  enterRealMode(vcpu)
  return { vcpu, ram }
}

/** Runs to the next exit and expects an OUT to `port`; returns its first byte. */
function expectOut(vcpu: Vcpu, port: number): number {
  const reason = vcpu.run()
  expect(reason, `exit ${reason} instead of OUT 0x${port.toString(16)}`).toBe(abi.KVM_EXIT_IO)
  expect(vcpu.kvmRun.io).toMatchObject({ isOut: true, port })
  return vcpu.kvmRun.io.data[0] ?? -1
}

// PIC programmed with vector base 0x20 and only IRQ3 unmasked; OUT 0x30 says "ready", then
// sti; hlt forever. IRQ3 (vector 0x23) handler: OUT 0x31, EOI to the PIC, OUT 0x33, iret.
const PIC_GUEST = [
  ...[
    0xb0, 0x11, 0xe6, 0x20, 0xb0, 0x20, 0xe6, 0x21, 0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01, 0xe6, 0x21,
  ],
  ...[0xb0, 0xf7, 0xe6, 0x21, 0xb0, 0x01, 0xe6, 0x30, 0xfb, 0xf4, 0xeb, 0xfd],
]
const IRQ3_HANDLER = [0xb0, 0x23, 0xe6, 0x31, 0xb0, 0x20, 0xe6, 0x20, 0xb0, 0x33, 0xe6, 0x33, 0xcf]

function picGuest(): Vcpu {
  const { vcpu, ram } = guest(PIC_GUEST, { irqchip: true })
  ram.set(IRQ3_HANDLER, 0x2000)
  new DataView(ram.buffer).setUint32(0x23 * 4, 0x2000, true)
  expectOut(vcpu, 0x30)
  return vcpu
}

describe('memory regions', () => {
  it('a region is guest RAM without copies, both ways', () => {
    // mov ax, 0x1000; mov ds, ax (ds base 0x10000); mov al, [0x10]; out 0x10, al;
    // mov byte [0x20], 0x77; hlt
    const code = [0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xa0, 0x10, 0x00, 0xe6, 0x10]
    const { vcpu } = guest([...code, 0xc6, 0x06, 0x20, 0x00, 0x77, 0xf4])
    const r = vm.addMemoryRegion({ slot: 1, guestPhysAddr: 0x10000, size: 0x10000 })
    expect(r).toMatchObject({ slot: 1, guestPhysAddr: 0x10000, size: 0x10000, flags: 0 })
    expect(r.hostAddress % 4096n).toBe(0n)
    expect(r.buffer.byteLength).toBe(0x10000)
    const mem = new Uint8Array(r.buffer)
    mem[0x10] = 0x5a
    expect(expectOut(vcpu, 0x10)).toBe(0x5a)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_HLT)
    expect(mem[0x20]).toBe(0x77)
    expect(vm.memoryRegions().map((x) => x.slot)).toEqual([0, 1])
  })

  it('removing a region detaches its buffers and the guest then sees MMIO', () => {
    // mov ax, 0x1000; mov ds, ax; mov al, [0x10]; out 0x10, al; hlt
    const { vcpu } = guest([0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xa0, 0x10, 0x00, 0xe6, 0x10, 0xf4])
    const r = vm.addMemoryRegion({ slot: 1, guestPhysAddr: 0x10000, size: 0x10000 })
    const other = Vm.fromHandle(vm.handle)
      .memoryRegions()
      .find((x) => x.slot === 1)
    expect(other?.hostAddress).toBe(r.hostAddress)
    new Uint8Array(r.buffer)[0x10] = 1
    expect(new Uint8Array(other?.buffer ?? new ArrayBuffer(0))[0x10]).toBe(1)
    vm.removeMemoryRegion(1)
    expect(r.buffer.byteLength).toBe(0)
    expect(vm.memoryRegions().map((x) => x.slot)).toEqual([0])
    expect(vcpu.run()).toBe(abi.KVM_EXIT_MMIO)
    expect(vcpu.kvmRun.mmio).toMatchObject({ physAddr: 0x10010, isWrite: false, len: 1 })
    // The slot can be used again.
    const again = vm.addMemoryRegion({ slot: 1, guestPhysAddr: 0x20000, size: 0x1000 })
    expect(again.buffer.byteLength).toBe(0x1000)
  })

  it('bad regions are refused without leaking fds or mappings', () => {
    vm = kvm.createVm()
    const before = fdCount()
    vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 })
    expect(() => vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0x100000, size: 4096 })).toThrow(
      expect.objectContaining({ code: 'EEXIST', syscall: 'KVM_SET_USER_MEMORY_REGION' }),
    )
    expect(() => vm.addMemoryRegion({ slot: 1, guestPhysAddr: 0x8000, size: 0x10000 })).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    )
    expect(() => vm.addMemoryRegion({ slot: 2, guestPhysAddr: 0x100000, size: 100 })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    )
    expect(() => vm.removeMemoryRegion(7)).toThrow(expect.objectContaining({ code: 'ENOENT' }))
    expect(vm.memoryRegions().map((x) => x.slot)).toEqual([0])
    expect(fdCount()).toBe(before)
  })

  it('a region larger than the largest ArrayBuffer is refused (EFBIG), not mapped', () => {
    vm = kvm.createVm()
    const size = constants.MAX_LENGTH + 4096
    expect(() => vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size })).toThrow(
      expect.objectContaining({ code: 'EFBIG', syscall: 'KVM_SET_USER_MEMORY_REGION' }),
    )
    expect(vm.memoryRegions()).toEqual([])
  })

  it('a region past what Node can wrap is a KvmError even when told a huge limit: no SIGABRT', () => {
    const child = spawnSync(
      process.execPath,
      [fileURLToPath(new URL('./fixtures/huge-region.mjs', import.meta.url))],
      { encoding: 'utf8', timeout: 120_000 },
    )
    expect(child.signal, child.stderr).toBeNull()
    expect(child.status, child.stderr).toBe(0)
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}')
    // EFBIG when Node refuses the 8 GiB buffer; ENOMEM if this host cannot even map it.
    expect(result).toMatchObject({ name: 'KvmError', regions: 0 })
    expect(['EFBIG', 'ENOMEM']).toContain(result.code)
    console.log(`8 GiB region with a 1 TiB limit: ${result.code} from ${result.syscall}`)
  })

  it('KVM_MEM_READONLY: reads work, writes exit as MMIO', () => {
    // mov ax, 0x1000; mov ds, ax; mov al, [0]; out 0x10, al; mov [0], al; hlt
    const { vcpu } = guest([0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xa0, 0, 0, 0xe6, 0x10, 0xa2, 0, 0, 0xf4])
    expect(vm.checkExtension(abi.Cap.READONLY_MEM)).toBeGreaterThan(0)
    const rom = vm.addMemoryRegion({
      slot: 1,
      guestPhysAddr: 0x10000,
      size: 0x1000,
      flags: abi.KVM_MEM_READONLY,
    })
    new Uint8Array(rom.buffer)[0] = 0x99
    expect(expectOut(vcpu, 0x10)).toBe(0x99)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_MMIO)
    expect(vcpu.kvmRun.mmio).toMatchObject({ physAddr: 0x10000, isWrite: true, len: 1 })
    expect(vcpu.kvmRun.mmio.data[0]).toBe(0x99)
  })
})

describe('interrupt controllers', () => {
  it('KVM_CREATE_IRQCHIP once, then KVM_CREATE_PIT2', () => {
    vm = kvm.createVm()
    vm.createIrqchip()
    expect(() => vm.createIrqchip()).toThrow(expect.objectContaining({ code: 'EEXIST' }))
    vm.createPit2(abi.KVM_PIT_SPEAKER_DUMMY)
    expect(() => vm.createPit2()).toThrow(expect.objectContaining({ code: 'EEXIST' }))
  })

  it('split irqchip through KVM_ENABLE_CAP', () => {
    vm = kvm.createVm()
    vm.enableSplitIrqchip(24)
    expect(() => vm.createIrqchip()).toThrow(expect.objectContaining({ code: 'EEXIST' }))
    expect(() => vm.enableCap(abi.Cap.SPLIT_IRQCHIP, [24])).toThrow(
      expect.objectContaining({ code: 'EEXIST', syscall: 'KVM_ENABLE_CAP' }),
    )
  })

  it('KVM_IRQ_LINE_STATUS raises a PIC line the guest takes', () => {
    const vcpu = picGuest()
    expect(vm.irqLine(3, 1)).toBe(1)
    expect(vm.irqLine(3, 0)).toBeGreaterThanOrEqual(0)
    expect(expectOut(vcpu, 0x31)).toBe(0x23)
    expect(expectOut(vcpu, 0x33)).toBe(0x33)
  })

  it('KVM_IRQ_LINE_STATUS without an irqchip is ENXIO', () => {
    guest([0xf4])
    expect(() => vm.irqLine(3, 1)).toThrow(expect.objectContaining({ code: 'ENXIO' }))
  })

  it('KVM_SIGNAL_MSI delivers a vector to a software-enabled local APIC', () => {
    // sti; out 0x30, al; l: hlt; jmp l. Vector 0x40 handler: mov al, 0x40; out 0x31, al; jmp $
    const { vcpu, ram } = guest([0xfb, 0xe6, 0x30, 0xf4, 0xeb, 0xfd], { irqchip: true })
    ram.set([0xb0, 0x40, 0xe6, 0x31, 0xeb, 0xfe], 0x2000)
    new DataView(ram.buffer).setUint32(0x40 * 4, 0x2000, true)
    const lapic = vcpu.getLapic()
    new DataView(lapic.buffer).setUint32(0xf0, 0x1ff, true) // SVR: enabled, spurious 0xff
    vcpu.setLapic(lapic)
    expectOut(vcpu, 0x30)
    expect(vm.signalMsi({ addressLo: 0xfee00000, data: 0x40 })).toBe(1)
    expect(expectOut(vcpu, 0x31)).toBe(0x40)
  })
})

describe('GSI routing (x86 entry types)', () => {
  const irqchip = (gsi: number, chip: number, pin: number) => ({
    gsi,
    type: abi.KVM_IRQ_ROUTING_IRQCHIP,
    u: [chip, pin],
  })

  it('accepts IRQCHIP (PIC and IOAPIC) and MSI entries, and an empty table', () => {
    vm = kvm.createVm()
    vm.createIrqchip()
    vm.setGsiRouting(
      encodeRouting([
        irqchip(0, abi.KVM_IRQCHIP_PIC_MASTER, 0),
        irqchip(0, abi.KVM_IRQCHIP_IOAPIC, 2),
        irqchip(9, abi.KVM_IRQCHIP_PIC_SLAVE, 1),
        irqchip(9, abi.KVM_IRQCHIP_IOAPIC, 9),
        { gsi: 24, type: abi.KVM_IRQ_ROUTING_MSI, u: [0xfee00000, 0, 0x41] },
      ]),
    )
    vm.setGsiRouting(encodeRouting([]))
  })

  it('accepts HV_SINT entries when KVM has Hyper-V support (CONFIG_KVM_HYPERV), else EINVAL', () => {
    vm = kvm.createVm()
    vm.createIrqchip()
    const table = encodeRouting([
      { gsi: 25, type: abi.KVM_IRQ_ROUTING_HV_SINT, u: [0, 2] },
      { gsi: 26, type: abi.KVM_IRQ_ROUTING_HV_SINT, u: [7, 15] },
    ])
    if (kvm.checkExtension(abi.Cap.HYPERV) > 0) vm.setGsiRouting(table)
    else expect(() => vm.setGsiRouting(table)).toThrow(expect.objectContaining({ code: 'EINVAL' }))
  })

  it('rejects S390_ADAPTER, a bad IOAPIC pin and flags on an IRQCHIP entry with EINVAL', () => {
    vm = kvm.createVm()
    vm.createIrqchip()
    for (const bad of [
      { gsi: 1, type: abi.KVM_IRQ_ROUTING_S390_ADAPTER, u: [] },
      irqchip(1, abi.KVM_IRQCHIP_IOAPIC, 24),
      { ...irqchip(1, abi.KVM_IRQCHIP_IOAPIC, 1), flags: 1 },
    ]) {
      const err = (() => {
        try {
          vm.setGsiRouting(encodeRouting([bad]))
        } catch (e) {
          return e
        }
      })()
      expect(err).toBeInstanceOf(KvmError)
      expect(err).toMatchObject({ code: 'EINVAL', syscall: 'KVM_SET_GSI_ROUTING' })
    }
  })

  it('the addon refuses a table shorter than its entry count', () => {
    vm = kvm.createVm()
    vm.createIrqchip()
    const table = encodeRouting([irqchip(1, abi.KVM_IRQCHIP_IOAPIC, 1)])
    new DataView(table.buffer).setUint32(0, 2, true) // claims 2 entries, holds 1
    expect(() => vm.setGsiRouting(table)).toThrow(expect.objectContaining({ code: 'EINVAL' }))
  })

  it('takes a table in a SharedArrayBuffer like any other (the addon copies it)', () => {
    vm = kvm.createVm()
    vm.createIrqchip()
    const plain = encodeRouting([irqchip(1, abi.KVM_IRQCHIP_IOAPIC, 1)])
    const shared = new Uint8Array(new SharedArrayBuffer(plain.length))
    shared.set(plain)
    vm.setGsiRouting(shared)
    const vcpu = vm.createVcpu(0)
    const lapic = vcpu.getLapic()
    const sharedLapic = new Uint8Array(new SharedArrayBuffer(lapic.length))
    sharedLapic.set(lapic)
    vcpu.setLapic(sharedLapic)
    const events = vcpu.getVcpuEvents()
    const sharedEvents = new Uint8Array(new SharedArrayBuffer(events.length))
    sharedEvents.set(events)
    vcpu.setVcpuEvents(sharedEvents)
  })
})

describe('irqfd and ioeventfd', () => {
  it('KVM_IRQFD: an eventfd write raises the GSI; deassigned, the write stays in the eventfd', () => {
    const vcpu = picGuest()
    const ev = eventfd()
    vm.irqfd({ fd: ev, gsi: 3 })
    ev.write(1n)
    expect(expectOut(vcpu, 0x31)).toBe(0x23)
    expect(expectOut(vcpu, 0x33)).toBe(0x33)
    expect(ev.read()).toBeNull() // KVM consumed the count
    vm.irqfd({ fd: ev, gsi: 3, deassign: true })
    ev.write(1n)
    expect(ev.read()).toBe(1n) // nobody listens any more
  })

  it('KVM_IRQFD with KVM_IRQFD_FLAG_RESAMPLE signals the resample fd on EOI', () => {
    const vcpu = picGuest()
    const ev = eventfd()
    const resample = eventfd()
    vm.irqfd({ fd: ev, gsi: 3, resampleFd: resample })
    expect(resample.read()).toBeNull()
    ev.write(1n)
    expect(expectOut(vcpu, 0x31)).toBe(0x23)
    expect(expectOut(vcpu, 0x33)).toBe(0x33) // the handler has EOI'd by now
    expect(resample.read()).toBe(1n)
    vm.irqfd({ fd: ev, gsi: 3, deassign: true })
  })

  it('KVM_IOEVENTFD on a port (with and without datamatch) and on MMIO', () => {
    const code = [
      ...[0xb0, 0x07, 0xe6, 0x50], // mov al, 7; out 0x50, al   -> ioeventfd
      ...[0xb0, 0x08, 0xe6, 0x52], // mov al, 8; out 0x52, al   -> no match: exits
      ...[0xb0, 0x09, 0xe6, 0x52], // mov al, 9; out 0x52, al   -> ioeventfd
      ...[0x26, 0xa2, 0x00, 0x00], // mov es:[0], al            -> MMIO ioeventfd
      ...[0xe6, 0x10], // out 0x10, al
      ...[0x26, 0xa2, 0x00, 0x00], // mov es:[0], al            -> after deassign: MMIO exit
      0xf4,
    ]
    const { vcpu } = guest(code)
    vcpu.setSregs({ ...vcpu.getSregs(), es: { ...vcpu.getSregs().es, base: 0x300000n } })
    const [plain, matched, mmio] = [eventfd(), eventfd(), eventfd()]
    vm.ioeventfd({ fd: plain, addr: 0x50, len: 1, pio: true })
    vm.ioeventfd({ fd: matched, addr: 0x52, len: 1, pio: true, datamatch: 9 })
    vm.ioeventfd({ fd: mmio, addr: 0x300000, len: 1 })
    expect(expectOut(vcpu, 0x52)).toBe(8)
    expect(expectOut(vcpu, 0x10)).toBe(9)
    expect([plain.read(), matched.read(), mmio.read()]).toEqual([1n, 1n, 1n])
    vm.ioeventfd({ fd: mmio, addr: 0x300000, len: 1, deassign: true })
    expect(vcpu.run()).toBe(abi.KVM_EXIT_MMIO)
    expect(vcpu.kvmRun.mmio).toMatchObject({ physAddr: 0x300000, isWrite: true })
    expect(mmio.read()).toBeNull()
  })
})

describe('x86 VM setup and clock', () => {
  it('KVM_SET_TSS_ADDR and KVM_SET_IDENTITY_MAP_ADDR before the first vCPU', () => {
    vm = kvm.createVm()
    vm.setIdentityMapAddr(0xfffbc000)
    vm.setTssAddr(0xfffbd000)
    vm.createVcpu(0)
    expect(() => vm.setIdentityMapAddr(0xfffbc000)).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'KVM_SET_IDENTITY_MAP_ADDR' }),
    )
  })

  it('KVM_GET_CLOCK / KVM_SET_CLOCK', () => {
    vm = kvm.createVm()
    const c = vm.getClock()
    vm.setClock(c.clock + 1_000_000_000n)
    expect(vm.getClock().clock).toBeGreaterThanOrEqual(c.clock + 1_000_000_000n)
  })

  it('KVM_CHECK_EXTENSION on the VM', () => {
    vm = kvm.createVm()
    expect(vm.checkExtension(abi.Cap.IRQ_ROUTING)).toBe(abi.KVM_MAX_IRQ_ROUTES)
  })
})
