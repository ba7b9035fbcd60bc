// Vcpu on real KVM: KVM_RUN exits (IO, MMIO, HLT, SHUTDOWN, INTERNAL_ERROR), register state,
// CPUID, MSRs, LAPIC, interrupt injection, TSC. Guests are hand-assembled bytes.
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import * as abi from '../src/abi.js'
import { Kvm, type Vcpu, type Vm } from '../src/index.js'
import { enterLongMode, enterRealMode } from './helpers/guest.js'

const kvm = Kvm.open()
afterAll(() => kvm.close())

let vm: Vm
afterEach(() => vm?.close())

/** A VM with 2 MiB of RAM at 0, `code` at 0x1000 and one vCPU. */
function guest(code: number[], opts: { irqchip?: boolean } = {}): { vcpu: Vcpu; ram: Uint8Array } {
  vm = kvm.createVm()
  if (opts.irqchip) vm.createIrqchip()
  const region = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 2 << 20 })
  const ram = new Uint8Array(region.buffer)
  ram.set(code, 0x1000)
  return { vcpu: vm.createVcpu(0), ram }
}

describe('KVM_RUN exits', () => {
  it('a real-mode guest looping on port I/O exits once per OUT with the right data', () => {
    const N = 500
    // mov cx, N; mov dx, 0x10; mov al, 0x2a; l: out dx, al; inc al; loop l; hlt
    const { vcpu } = guest([
      ...[0xb9, N & 0xff, N >> 8, 0xba, 0x10, 0x00, 0xb0, 0x2a],
      ...[0xee, 0xfe, 0xc0, 0xe2, 0xfb, 0xf4],
    ])
    enterRealMode(vcpu)
    const seen: number[] = []
    for (;;) {
      const reason = vcpu.run()
      if (reason !== abi.KVM_EXIT_IO) {
        expect(reason).toBe(abi.KVM_EXIT_HLT)
        break
      }
      const io = vcpu.kvmRun.io
      expect(io).toMatchObject({ isOut: true, port: 0x10, size: 1, count: 1 })
      expect(vcpu.kvmRun.exitReason).toBe(abi.KVM_EXIT_IO)
      seen.push(io.data[0] ?? -1)
    }
    expect(seen).toHaveLength(N)
    expect(seen.every((b, i) => b === (0x2a + i) % 256)).toBe(true)
  })

  it('IN: the value the VMM puts in kvm_run reaches the guest', () => {
    // mov dx, 0x11; in al, dx; inc al; out dx, al; hlt
    const { vcpu } = guest([0xba, 0x11, 0x00, 0xec, 0xfe, 0xc0, 0xee, 0xf4])
    enterRealMode(vcpu)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_IO)
    const io = vcpu.kvmRun.io
    expect(io.isOut).toBe(false)
    io.data[0] = 0x41
    expect(vcpu.run()).toBe(abi.KVM_EXIT_IO)
    expect(vcpu.kvmRun.exit()).toMatchObject({ reason: abi.KVM_EXIT_IO, isOut: true, port: 0x11 })
    expect(vcpu.kvmRun.io.data[0]).toBe(0x42)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_HLT)
  })

  it('a 64-bit guest entered through setSregs with test-built page tables: IO, MMIO, HLT', () => {
    const code = [
      ...[0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11], // mov rax, 0x1122334455667788
      ...[0x66, 0xba, 0x10, 0x00], // mov dx, 0x10
      0xef, // out dx, eax
      ...[0xb9, 0x00, 0x00, 0x00, 0x20], // mov ecx, 0x20000000 (no memory there)
      ...[0x89, 0x01], // mov [rcx], eax
      ...[0x8b, 0x01], // mov eax, [rcx]
      0xef, // out dx, eax
      0xf4, // hlt
    ]
    const { vcpu, ram } = guest(code)
    enterLongMode(vcpu, ram, kvm.getSupportedCpuid())
    const sregs = vcpu.getSregs()
    expect(sregs.cs.l).toBe(1)
    expect(sregs.efer & 0x400n).toBe(0x400n)

    expect(vcpu.run()).toBe(abi.KVM_EXIT_IO)
    expect(vcpu.getRegs().rax).toBe(0x1122334455667788n)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_MMIO)
    const w = vcpu.kvmRun.mmio
    expect(w).toMatchObject({ physAddr: 0x20000000, len: 4, isWrite: true })
    expect(new DataView(w.data.buffer, w.data.byteOffset).getUint32(0, true)).toBe(0x55667788)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_MMIO)
    const r = vcpu.kvmRun.mmio
    expect(r).toMatchObject({ physAddr: 0x20000000, len: 4, isWrite: false })
    new DataView(r.data.buffer, r.data.byteOffset).setUint32(0, 0xdeadbeef, true)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_IO)
    const io = vcpu.kvmRun.io
    expect(new DataView(io.data.buffer, io.data.byteOffset).getUint32(0, true)).toBe(0xdeadbeef)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_HLT)
    expect(vcpu.getRegs().rax).toBe(0xdeadbeefn)
  })

  it('a triple fault is KVM_EXIT_SHUTDOWN', () => {
    // 64-bit, IDT limit 0: ud2 -> #UD -> #GP -> #DF -> triple fault
    const { vcpu, ram } = guest([0x0f, 0x0b])
    enterLongMode(vcpu, ram, kvm.getSupportedCpuid())
    vcpu.setSregs({ ...vcpu.getSregs(), idt: { base: 0n, limit: 0 } })
    expect(vcpu.run()).toBe(abi.KVM_EXIT_SHUTDOWN)
    expect(vcpu.kvmRun.exit()).toEqual({ reason: abi.KVM_EXIT_SHUTDOWN })
  })

  it('an MMIO access KVM cannot emulate is KVM_EXIT_INTERNAL_ERROR (emulation)', () => {
    // mov ecx, 0x20000000; fld tword [rcx]
    const { vcpu, ram } = guest([0xb9, 0x00, 0x00, 0x00, 0x20, 0xdb, 0x29, 0xf4])
    enterLongMode(vcpu, ram, kvm.getSupportedCpuid())
    expect(vcpu.run()).toBe(abi.KVM_EXIT_INTERNAL_ERROR)
    const e = vcpu.kvmRun.internalError
    expect(e.suberror).toBe(abi.KVM_INTERNAL_ERROR_EMULATION)
    expect(vcpu.kvmRun.exit()).toMatchObject({ reason: abi.KVM_EXIT_INTERNAL_ERROR })
  })

  it('a kick before KVM_RUN makes it return KVM_EXIT_INTR once', () => {
    // l: out 0x10, al; jmp l
    const { vcpu } = guest([0xe6, 0x10, 0xeb, 0xfc])
    enterRealMode(vcpu)
    vcpu.kick()
    expect(vcpu.kvmRun.immediateExit).toBe(true)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_INTR)
    expect(vcpu.kvmRun.immediateExit).toBe(false)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_IO)
  })
})

describe('register state', () => {
  it('KVM_SET_REGS / KVM_GET_REGS round-trip every register', () => {
    const { vcpu } = guest([0xf4])
    const regs = vcpu.getRegs()
    const names = Object.keys(regs) as (keyof typeof regs)[]
    names.forEach((n, i) => {
      regs[n] = n === 'rflags' ? 0x202n : 0x0101010101010101n * BigInt(i + 1)
    })
    vcpu.setRegs(regs)
    expect(vcpu.getRegs()).toEqual(regs)
  })

  it('KVM_SET_SREGS / KVM_GET_SREGS round-trip control registers and segments', () => {
    const { vcpu, ram } = guest([0xf4])
    enterLongMode(vcpu, ram, kvm.getSupportedCpuid())
    const s = vcpu.getSregs()
    expect(s.cr3).toBe(0x10000n)
    expect(s.cs).toMatchObject({ selector: 8, l: 1, present: 1 })
    s.idt = { base: 0x2000n, limit: 0xfff }
    s.cr2 = 0xdead000n
    vcpu.setSregs(s)
    expect(vcpu.getSregs()).toMatchObject({ idt: { base: 0x2000n, limit: 0xfff }, cr2: 0xdead000n })
  })

  it('KVM_SET_FPU / KVM_GET_FPU round-trip x87 registers and XMM registers', () => {
    const { vcpu } = guest([0xf4])
    const fpu = vcpu.getFpu()
    expect(fpu.fpr).toHaveLength(8)
    expect(fpu.xmm).toHaveLength(16)
    fpu.fcw = 0x27f
    fpu.fpr[1] = Uint8Array.from({ length: 16 }, (_, i) => (i < 10 ? 0xa0 + i : 0))
    fpu.xmm[3] = Uint8Array.from({ length: 16 }, (_, i) => i + 1)
    vcpu.setFpu(fpu)
    const back = vcpu.getFpu()
    expect(back.fcw).toBe(0x27f)
    expect([...(back.fpr[1] ?? [])].slice(0, 10)).toEqual([...(fpu.fpr[1] ?? [])].slice(0, 10))
    expect([...(back.xmm[3] ?? [])]).toEqual(Array.from({ length: 16 }, (_, i) => i + 1))
  })

  it('KVM_SET_CPUID2 decides what the guest CPUID returns', () => {
    // mov eax, 0x40000000; cpuid; mov eax, ebx; mov dx, 0x10; out dx, eax; hlt
    const code = [0x66, 0xb8, 0x00, 0x00, 0x00, 0x40, 0x0f, 0xa2, 0x66, 0x89, 0xd8]
    const { vcpu } = guest([...code, 0xba, 0x10, 0x00, 0x66, 0xef, 0xf4])
    const entries = kvm.getSupportedCpuid().filter((e) => e.function < 0x40000000)
    const sig = 0x6d6d7674 // "tvmm"
    entries.push({
      function: 0x40000000,
      index: 0,
      flags: 0,
      eax: 0x40000000,
      ebx: sig,
      ecx: 0,
      edx: 0,
    })
    vcpu.setCpuid2(entries)
    enterRealMode(vcpu)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_IO)
    const io = vcpu.kvmRun.io
    expect(new DataView(io.data.buffer, io.data.byteOffset).getUint32(0, true)).toBe(sig)
  })

  it('KVM_SET_MSRS / KVM_GET_MSRS, stopping at an MSR KVM refuses', () => {
    const { vcpu } = guest([0xf4])
    expect(vcpu.setMsrs([{ index: 0x174, data: 0x10n }])).toBe(1) // IA32_SYSENTER_CS
    expect(vcpu.getMsrs([0x174])).toEqual([{ index: 0x174, data: 0x10n }])
    expect(vcpu.getMsrs([0x174, 0x0badc0de, 0x174])).toHaveLength(1)
  })

  it('KVM_GET_LAPIC / KVM_SET_LAPIC: the APIC ID is the vCPU id and TPR round-trips', () => {
    const { vcpu } = guest([0xf4], { irqchip: true })
    const lapic = vcpu.getLapic()
    const v = new DataView(lapic.buffer)
    expect(v.getUint32(0x20, true) >>> 24).toBe(vcpu.id)
    v.setUint32(0x80, 0x20, true) // TPR
    vcpu.setLapic(lapic)
    expect(new DataView(vcpu.getLapic().buffer).getUint32(0x80, true)).toBe(0x20)
  })

  it('KVM_GET_MP_STATE / KVM_SET_MP_STATE', () => {
    const { vcpu } = guest([0xf4], { irqchip: true })
    expect(vcpu.getMpState()).toBe(abi.KVM_MP_STATE_RUNNABLE)
    vcpu.setMpState(abi.KVM_MP_STATE_HALTED)
    expect(vcpu.getMpState()).toBe(abi.KVM_MP_STATE_HALTED)
  })

  it('KVM_GET_VCPU_EVENTS / KVM_SET_VCPU_EVENTS round-trip', () => {
    const { vcpu } = guest([0xf4])
    const events = vcpu.getVcpuEvents()
    expect(events).toHaveLength(abi.kvm_vcpu_events.size)
    vcpu.setVcpuEvents(events)
  })

  it('KVM_GET_TSC_KHZ / KVM_SET_TSC_KHZ on the vCPU and on the VM', () => {
    const { vcpu } = guest([0xf4])
    const khz = vcpu.getTscKhz()
    expect(khz).toBeGreaterThan(0)
    // The host's own rate needs no TSC scaling, so every kernel accepts it.
    vcpu.setTscKhz(khz)
    expect(vcpu.getTscKhz()).toBe(khz)
    // The VM-wide default: kernels with KVM_CAP_VM_TSC_CONTROL take it; others may refuse it,
    // and then the error names the capability.
    let refused: unknown
    try {
      vm.setTscKhz(khz)
    } catch (e) {
      refused = e
    }
    if (refused === undefined) expect(vm.createVcpu(1).getTscKhz()).toBe(khz)
    else {
      expect(vm.checkExtension(abi.Cap.VM_TSC_CONTROL)).toBe(0)
      expect(refused).toMatchObject({ hint: expect.stringContaining('KVM_CAP_VM_TSC_CONTROL') })
    }
  })
})

describe('interrupt injection', () => {
  // Real-mode guest: IVT[v] -> 0x2000 handler `mov al, v; out 0x31, al; jmp $`,
  // main: sti; l: hlt; jmp l
  function interruptGuest(vector: number, irqchip: boolean) {
    const { vcpu, ram } = guest([0xfb, 0xf4, 0xeb, 0xfd], { irqchip })
    ram.set([0xb0, vector, 0xe6, 0x31, 0xeb, 0xfe], 0x2000)
    new DataView(ram.buffer).setUint32(vector * 4, 0x2000, true)
    enterRealMode(vcpu)
    return vcpu
  }

  it('KVM_INTERRUPT (userspace irqchip) runs the guest handler of the vector', () => {
    const vcpu = interruptGuest(0x30, false)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_HLT)
    expect(vcpu.kvmRun.ifFlag).toBe(true)
    vcpu.interrupt(0x30)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_IO)
    expect(vcpu.kvmRun.io).toMatchObject({ port: 0x31 })
    expect(vcpu.kvmRun.io.data[0]).toBe(0x30)
  })

  it('KVM_NMI runs the NMI handler (vector 2)', () => {
    const vcpu = interruptGuest(2, false)
    expect(vcpu.run()).toBe(abi.KVM_EXIT_HLT)
    vcpu.nmi()
    expect(vcpu.run()).toBe(abi.KVM_EXIT_IO)
    expect(vcpu.kvmRun.io.data[0]).toBe(2)
  })

  it('KVM_INTERRUPT with an in-kernel irqchip is refused', () => {
    const vcpu = interruptGuest(0x30, true)
    expect(() => vcpu.interrupt(0x30)).toThrow(expect.objectContaining({ code: 'ENXIO' }))
  })
})
