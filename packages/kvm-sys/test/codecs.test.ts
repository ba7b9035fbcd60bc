// The struct codecs (x86 state, Xen attributes) round-trip, and KvmRun reads each exit from a
// kvm_run page. The pages here are filled by the test through the abi offsets (no KVM needed);
// the KVM suites read the same accessors on pages the kernel filled.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as abi from '../src/abi.js'
import { KvmRun } from '../src/kvm-run.js'
import type { Regs, Segment } from '../src/x86.js'
import {
  decodeCpuid,
  decodeFpu,
  decodeMsrs,
  decodeRegs,
  decodeSregs,
  encodeCpuid,
  encodeFpu,
  encodeMsrs,
  encodeRegs,
  encodeSregs,
} from '../src/x86-codec.js'
import type { XenHvmAttr, XenVcpuAttr } from '../src/xen.js'
import {
  decodeXenHvmAttr,
  decodeXenVcpuAttr,
  encodeXenHvmAttr,
  encodeXenVcpuAttr,
} from '../src/xen-codec.js'

// Xen's port type (xen/event_channel.h); kvm-sys does not export Xen numbers.
const EVTCHNSTAT_interdomain = 2

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const u16 = fc.integer({ min: 0, max: 0xffff })
const u8 = fc.integer({ min: 0, max: 0xff })
const bit = fc.integer({ min: 0, max: 1 })
const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 })

const REGS = Object.keys(abi.kvm_regs).filter((k) => k !== 'size') as (keyof Regs)[]
const regsArb = fc.record(
  Object.fromEntries(REGS.map((r) => [r, u64])) as Record<keyof Regs, typeof u64>,
)
const segArb: fc.Arbitrary<Segment> = fc.record({
  base: u64,
  limit: u32,
  selector: u16,
  type: fc.integer({ min: 0, max: 15 }),
  present: bit,
  dpl: fc.integer({ min: 0, max: 3 }),
  db: bit,
  s: bit,
  l: bit,
  g: bit,
  avl: bit,
  unusable: bit,
})
const dtArb = fc.record({ base: u64, limit: u16 })

describe('x86 state codecs', () => {
  it('kvm_regs round-trips', () => {
    fc.assert(
      fc.property(regsArb, (r) => {
        expect(decodeRegs(encodeRegs(r))).toEqual(r)
      }),
    )
  })

  it('kvm_sregs round-trips', () => {
    const sregsArb = fc.record({
      cs: segArb,
      ds: segArb,
      es: segArb,
      fs: segArb,
      gs: segArb,
      ss: segArb,
      tr: segArb,
      ldt: segArb,
      gdt: dtArb,
      idt: dtArb,
      cr0: u64,
      cr2: u64,
      cr3: u64,
      cr4: u64,
      cr8: u64,
      efer: u64,
      apicBase: u64,
      interruptBitmap: fc.tuple(u64, u64, u64, u64),
    })
    fc.assert(
      fc.property(sregsArb, (s) => {
        expect(decodeSregs(encodeSregs(s))).toEqual(s)
      }),
    )
  })

  it('kvm_sregs puts CR3 and EFER where C does', () => {
    const b = encodeSregs({
      ...decodeSregs(new Uint8Array(abi.kvm_sregs.size)),
      cr3: 0x1234000n,
      efer: 0x500n,
    })
    const v = new DataView(b.buffer)
    expect(v.getBigUint64(abi.kvm_sregs.cr3, true)).toBe(0x1234000n)
    expect(v.getBigUint64(abi.kvm_sregs.efer, true)).toBe(0x500n)
  })

  it('kvm_fpu round-trips', () => {
    const fpuArb = fc.record({
      fpr: fc.array(bytes16, { minLength: 8, maxLength: 8 }),
      fcw: u16,
      fsw: u16,
      ftwx: u8,
      lastOpcode: u16,
      lastIp: u64,
      lastDp: u64,
      xmm: fc.array(bytes16, { minLength: 16, maxLength: 16 }),
      mxcsr: u32,
    })
    fc.assert(
      fc.property(fpuArb, (f) => {
        expect(decodeFpu(encodeFpu(f))).toEqual(f)
      }),
    )
  })

  it('kvm_msrs and kvm_cpuid2 round-trip with their counts', () => {
    const msrArb = fc.array(fc.record({ index: u32, data: u64 }), { maxLength: 20 })
    fc.assert(
      fc.property(msrArb, (m) => {
        const b = encodeMsrs(m)
        expect(new DataView(b.buffer).getUint32(abi.kvm_msrs.nmsrs, true)).toBe(m.length)
        expect(decodeMsrs(b, m.length)).toEqual(m)
      }),
    )
    const cpuidArb = fc.array(
      fc.record({ function: u32, index: u32, flags: u32, eax: u32, ebx: u32, ecx: u32, edx: u32 }),
      { maxLength: 20 },
    )
    fc.assert(
      fc.property(cpuidArb, (c) => {
        expect(decodeCpuid(encodeCpuid(c))).toEqual(c)
      }),
    )
    expect(encodeCpuid(3).length).toBe(abi.kvm_cpuid2.size + 3 * abi.kvm_cpuid_entry2.size)
  })
})

describe('Xen attribute codecs', () => {
  const vec = fc.integer({ min: 0, max: 255 })
  const runstate = fc.record({
    state: u64,
    stateEntryTime: u64,
    timeRunning: u64,
    timeRunnable: u64,
    timeBlocked: u64,
    timeOffline: u64,
  })

  it('every VM attribute type round-trips', () => {
    const attr: fc.Arbitrary<XenHvmAttr> = fc.oneof(
      fc.record({ type: fc.constant('LONG_MODE' as const), longMode: fc.boolean() }),
      fc.record({ type: fc.constant('SHARED_INFO' as const), gfn: u64 }),
      fc.record({ type: fc.constant('SHARED_INFO_HVA' as const), hva: u64 }),
      fc.record({ type: fc.constant('UPCALL_VECTOR' as const), vector: vec }),
      fc.record({ type: fc.constant('XEN_VERSION' as const), version: u32 }),
      fc.record({ type: fc.constant('RUNSTATE_UPDATE_FLAG' as const), enabled: fc.boolean() }),
      fc.record({
        type: fc.constant('EVTCHN' as const),
        sendPort: u32,
        evtchnType: u32,
        flags: u32,
        deliver: fc.record({ port: u32, vcpu: u32, priority: u32 }),
      }),
    )
    fc.assert(
      fc.property(attr, (a) => {
        expect(decodeXenHvmAttr(a.type, encodeXenHvmAttr(a))).toEqual(a)
      }),
    )
  })

  it('EVTCHN eventfd delivery puts the fd where C does', () => {
    const b = encodeXenHvmAttr({
      type: 'EVTCHN',
      sendPort: 9,
      evtchnType: EVTCHNSTAT_interdomain,
      flags: 0,
      deliver: { eventfd: 17 },
    })
    const v = new DataView(b.buffer)
    const e = abi.kvm_xen_hvm_attr.u.evtchn
    expect(v.getUint16(abi.kvm_xen_hvm_attr.type, true)).toBe(abi.KVM_XEN_ATTR_TYPE_EVTCHN)
    expect(v.getUint32(e.send_port, true)).toBe(9)
    expect(v.getUint32(e.deliver.eventfd.port, true)).toBe(0)
    expect(v.getInt32(e.deliver.eventfd.fd, true)).toBe(17)
  })

  it('every vCPU attribute type round-trips', () => {
    const attr: fc.Arbitrary<XenVcpuAttr> = fc.oneof(
      fc.record({ type: fc.constant('VCPU_INFO' as const), gpa: u64 }),
      fc.record({ type: fc.constant('VCPU_INFO_HVA' as const), hva: u64 }),
      fc.record({ type: fc.constant('VCPU_TIME_INFO' as const), gpa: u64 }),
      fc.record({ type: fc.constant('RUNSTATE_ADDR' as const), gpa: u64 }),
      fc.record({
        type: fc.constant('RUNSTATE_CURRENT' as const),
        state: fc.integer({ min: 0, max: 3 }),
      }),
      runstate.map((r) => ({ type: 'RUNSTATE_DATA' as const, ...r })),
      runstate.map((r) => ({ type: 'RUNSTATE_ADJUST' as const, ...r })),
      fc.record({ type: fc.constant('VCPU_ID' as const), vcpuId: u32 }),
      fc.record({ type: fc.constant('TIMER' as const), port: u32, priority: u32, expiresNs: u64 }),
      fc.record({ type: fc.constant('UPCALL_VECTOR' as const), vector: vec }),
    )
    fc.assert(
      fc.property(attr, (a) => {
        expect(decodeXenVcpuAttr(a.type, encodeXenVcpuAttr(a))).toEqual(a)
      }),
    )
  })
})

describe('KvmRun', () => {
  const page = () => {
    const run = new KvmRun(new ArrayBuffer(3 * 4096))
    return { run, v: run.view }
  }

  it('reads an IO exit, with the data area as a view into the page', () => {
    const { run, v } = page()
    v.setUint32(abi.kvm_run.exit_reason, abi.KVM_EXIT_IO, true)
    v.setUint8(abi.kvm_run.io.direction, abi.KVM_EXIT_IO_OUT)
    v.setUint8(abi.kvm_run.io.size, 2)
    v.setUint16(abi.kvm_run.io.port, 0x3f8, true)
    v.setUint32(abi.kvm_run.io.count, 3, true)
    v.setBigUint64(abi.kvm_run.io.data_offset, 4096n, true)
    run.bytes.set([1, 2, 3, 4, 5, 6, 7], 4096)
    const io = run.io
    expect(io).toMatchObject({
      reason: abi.KVM_EXIT_IO,
      isOut: true,
      size: 2,
      port: 0x3f8,
      count: 3,
    })
    expect([...io.data]).toEqual([1, 2, 3, 4, 5, 6])
    io.data[0] = 9
    expect(run.bytes[4096]).toBe(9)
    expect(run.exit()).toMatchObject({ reason: abi.KVM_EXIT_IO, port: 0x3f8 })
  })

  it('clamps an IO data area that would run past the mapping', () => {
    const { run, v } = page()
    v.setUint8(abi.kvm_run.io.size, 4)
    v.setUint32(abi.kvm_run.io.count, 1000, true)
    v.setBigUint64(abi.kvm_run.io.data_offset, BigInt(3 * 4096 - 8), true)
    expect(run.io.data.length).toBe(8)
    v.setBigUint64(abi.kvm_run.io.data_offset, 1n << 40n, true)
    expect(run.io.data.length).toBe(0)
  })

  it('reads MMIO, Xen hypercall, FAIL_ENTRY, INTERNAL_ERROR, SYSTEM_EVENT and EOI exits', () => {
    const { run, v } = page()
    const set = (reason: number) => v.setUint32(abi.kvm_run.exit_reason, reason, true)

    set(abi.KVM_EXIT_MMIO)
    v.setBigUint64(abi.kvm_run.mmio.phys_addr, 0xfee00000n, true)
    v.setUint32(abi.kvm_run.mmio.len, 4, true)
    v.setUint8(abi.kvm_run.mmio.is_write, 1)
    expect(run.exit()).toMatchObject({ physAddr: 0xfee00000, len: 4, isWrite: true })
    expect(run.mmio.data.length).toBe(8)

    set(abi.KVM_EXIT_XEN)
    const h = abi.kvm_run.xen.u.hcall
    v.setUint32(abi.kvm_run.xen.type, abi.KVM_EXIT_XEN_HCALL, true)
    v.setUint32(h.longmode, 1, true)
    v.setBigUint64(h.input, 32n, true)
    for (let i = 0; i < 6; i++) v.setBigUint64(h.params + 8 * i, BigInt(i + 1), true)
    expect(run.exit()).toEqual({
      reason: abi.KVM_EXIT_XEN,
      type: abi.KVM_EXIT_XEN_HCALL,
      longmode: 1,
      cpl: 0,
      input: 32n,
      params: [1n, 2n, 3n, 4n, 5n, 6n],
    })
    run.xenHcallResult = -22n
    expect(v.getBigUint64(h.result, true)).toBe((1n << 64n) - 22n)

    set(abi.KVM_EXIT_FAIL_ENTRY)
    v.setBigUint64(abi.kvm_run.fail_entry.hardware_entry_failure_reason, 0x21n, true)
    v.setUint32(abi.kvm_run.fail_entry.cpu, 3, true)
    expect(run.exit()).toEqual({
      reason: abi.KVM_EXIT_FAIL_ENTRY,
      hardwareEntryFailureReason: 0x21n,
      cpu: 3,
    })

    set(abi.KVM_EXIT_INTERNAL_ERROR)
    v.setUint32(abi.kvm_run.internal.suberror, abi.KVM_INTERNAL_ERROR_EMULATION, true)
    v.setUint32(abi.kvm_run.internal.ndata, 99, true) // more than the 16 slots: clamped
    expect(run.internalError.data).toHaveLength(16)

    set(abi.KVM_EXIT_SYSTEM_EVENT)
    v.setUint32(abi.kvm_run.system_event.type, abi.KVM_SYSTEM_EVENT_RESET, true)
    v.setUint32(abi.kvm_run.system_event.ndata, 1, true)
    v.setBigUint64(abi.kvm_run.system_event.data, 7n, true)
    expect(run.exit()).toEqual({
      reason: abi.KVM_EXIT_SYSTEM_EVENT,
      type: abi.KVM_SYSTEM_EVENT_RESET,
      data: [7n],
    })

    set(abi.KVM_EXIT_IOAPIC_EOI)
    v.setUint8(abi.kvm_run.eoi.vector, 0x31)
    expect(run.exit()).toEqual({ reason: abi.KVM_EXIT_IOAPIC_EOI, vector: 0x31 })

    set(abi.KVM_EXIT_HLT)
    expect(run.exit()).toEqual({ reason: abi.KVM_EXIT_HLT })
  })

  it('immediate_exit and request_interrupt_window are read-write flags', () => {
    const { run, v } = page()
    run.immediateExit = true
    run.requestInterruptWindow = true
    expect(v.getUint8(abi.kvm_run.immediate_exit)).toBe(1)
    expect(v.getUint8(abi.kvm_run.request_interrupt_window)).toBe(1)
    expect(run.immediateExit && run.requestInterruptWindow).toBe(true)
  })
})
