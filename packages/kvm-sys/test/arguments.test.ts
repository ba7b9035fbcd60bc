// Issue 12: every public method of kvm-sys refuses a bad argument with KvmError 'EINVAL' naming
// the ioctl, before any struct is built or any ioctl issued: no TypeError from BigInt(1.5) or a
// DataView, no GSI silently wrapped to 32 bits. No /dev/kvm is needed: the checks run before the
// addon is asked, so the objects here sit on a recording stand-in for the addon's VM and vCPU,
// or on /dev/null (any ioctl on it is ENOTTY, which proves the argument got through).
import { constants } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import * as abi from '../src/abi.js'
import { EventFd, Kvm, KvmError, KvmRun, type Regs, Vcpu, Vm } from '../src/index.js'
import type { NativeVcpu, NativeVm } from '../src/native.js'
import { loadNative, op } from '../src/native.js'

interface Call {
  op: string
  arg: unknown
}

function fakeVm(calls: Call[]): NativeVm {
  const names = loadNative().ioctls
  return {
    ioctl: (i: number, arg?: unknown) => {
      calls.push({ op: names[i]?.name ?? '?', arg })
      return 0
    },
    createVcpu: () => fakeVcpu(calls),
    addMemoryRegion: () => {
      calls.push({ op: 'addMemoryRegion', arg: undefined })
      return 0n
    },
    removeMemoryRegion: () => undefined,
    regionBuffer: () => new ArrayBuffer(4096),
    regions: () => [],
    close: () => undefined,
    closed: false,
    handle: 1,
  }
}

function fakeVcpu(calls: Call[]): NativeVcpu {
  const names = loadNative().ioctls
  return {
    ioctl: (i: number, arg?: unknown) => {
      calls.push({ op: names[i]?.name ?? '?', arg })
      return 0
    },
    run: () => abi.KVM_EXIT_HLT,
    kick: () => undefined,
    runBuffer: () => new ArrayBuffer(4096),
    close: () => undefined,
    closed: false,
    handle: 2,
    id: 0,
    vmHandle: 1,
  }
}

/** The KvmError `f` throws; fails the test for anything else (or nothing). */
function kvmError(f: () => unknown): KvmError {
  try {
    f()
  } catch (e) {
    if (e instanceof KvmError) return e
    throw new Error(`expected a KvmError, got ${e}`)
  }
  throw new Error('expected a KvmError, nothing was thrown')
}

function setup() {
  const calls: Call[] = []
  const vm = Vm.wrap(fakeVm(calls))
  const vcpu = Vcpu.wrap(fakeVcpu(calls))
  return { calls, vm, vcpu }
}

describe('Vm refuses bad arguments before the ioctl', () => {
  const bad: [string, (vm: Vm) => unknown, string][] = [
    [
      'addMemoryRegion: BigInt(1.5)-style GPA',
      (vm) => vm.addMemoryRegion({ slot: 0, guestPhysAddr: 1.5, size: 4096 }),
      'KVM_SET_USER_MEMORY_REGION',
    ],
    [
      'addMemoryRegion: a bigint GPA',
      (vm) => vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0n as never, size: 4096 }),
      'KVM_SET_USER_MEMORY_REGION',
    ],
    [
      'addMemoryRegion: no options',
      (vm) => vm.addMemoryRegion(null as never),
      'KVM_SET_USER_MEMORY_REGION',
    ],
    ['ioeventfd: addr 1.5', (vm) => vm.ioeventfd({ fd: 3, addr: 1.5, len: 1 }), 'KVM_IOEVENTFD'],
    [
      'ioeventfd: datamatch 0.5',
      (vm) => vm.ioeventfd({ fd: 3, addr: 0x50, len: 1, datamatch: 0.5 }),
      'KVM_IOEVENTFD',
    ],
    ['ioeventfd: len 3', (vm) => vm.ioeventfd({ fd: 3, addr: 0x50, len: 3 }), 'KVM_IOEVENTFD'],
    [
      'ioeventfd: fd null',
      (vm) => vm.ioeventfd({ fd: null as never, addr: 0x50, len: 1 }),
      'KVM_IOEVENTFD',
    ],
    ['irqLine(2**32 + 4)', (vm) => vm.irqLine(2 ** 32 + 4, 1), 'KVM_IRQ_LINE_STATUS'],
    ['irqLine(NaN)', (vm) => vm.irqLine(Number.NaN, 1), 'KVM_IRQ_LINE_STATUS'],
    ['irqLine(-1)', (vm) => vm.irqLine(-1, 1), 'KVM_IRQ_LINE_STATUS'],
    ['irqLine level "yes"', (vm) => vm.irqLine(4, 'yes' as never), 'KVM_IRQ_LINE_STATUS'],
    ['irqfd({ gsi: 2**32 })', (vm) => vm.irqfd({ fd: 3, gsi: 2 ** 32 }), 'KVM_IRQFD'],
    [
      'irqfd: a closed EventFd',
      (vm) => {
        const ev = EventFd.create()
        ev.close()
        vm.irqfd({ fd: ev, gsi: 4 })
      },
      'KVM_IRQFD',
    ],
    [
      'signalMsi: data 2**32',
      (vm) => vm.signalMsi({ addressLo: 0xfee00000, data: 2 ** 32 }),
      'KVM_SIGNAL_MSI',
    ],
    [
      'enableCap: args[0] 1.5',
      (vm) => vm.enableCap(abi.Cap.SPLIT_IRQCHIP, [1.5]),
      'KVM_ENABLE_CAP',
    ],
    [
      'enableCap: five args',
      (vm) => vm.enableCap(abi.Cap.SPLIT_IRQCHIP, [1, 2, 3, 4, 5]),
      'KVM_ENABLE_CAP',
    ],
    [
      'setGsiRouting: a Uint16Array',
      (vm) => vm.setGsiRouting(new Uint16Array(8) as never),
      'KVM_SET_GSI_ROUTING',
    ],
    [
      'setGsiRouting: a fake Uint8Array',
      (vm) => vm.setGsiRouting(Object.create(Uint8Array.prototype)),
      'KVM_SET_GSI_ROUTING',
    ],
    ['setClock: a number', (vm) => vm.setClock(5 as never), 'KVM_SET_CLOCK'],
    [
      'setIdentityMapAddr: a bigint',
      (vm) => vm.setIdentityMapAddr(0xfffbc000n as never),
      'KVM_SET_IDENTITY_MAP_ADDR',
    ],
    [
      'xenHvmSetAttr: unknown attribute type',
      (vm) => vm.xenHvmSetAttr({ type: 'NOPE' } as never),
      'KVM_XEN_HVM_SET_ATTR',
    ],
    [
      'xenHvmSetAttr: "__proto__" as a type',
      (vm) => vm.xenHvmSetAttr({ type: '__proto__' } as never),
      'KVM_XEN_HVM_SET_ATTR',
    ],
    [
      'xenHvmSetAttr: vector 256',
      (vm) => vm.xenHvmSetAttr({ type: 'UPCALL_VECTOR', vector: 256 }),
      'KVM_XEN_HVM_SET_ATTR',
    ],
    [
      'xenHvmSetAttr: gfn as a number',
      (vm) => vm.xenHvmSetAttr({ type: 'SHARED_INFO', gfn: 5 as never }),
      'KVM_XEN_HVM_SET_ATTR',
    ],
    [
      'xenHvmGetAttr: unknown type',
      (vm) => vm.xenHvmGetAttr('NOPE' as never),
      'KVM_XEN_HVM_GET_ATTR',
    ],
    [
      'xenEvtchnSend: port -1',
      (vm) => vm.xenEvtchnSend({ port: -1, vcpu: 0 }),
      'KVM_XEN_HVM_EVTCHN_SEND',
    ],
    [
      'xenHvmConfig: flags "x"',
      (vm) => vm.xenHvmConfig({ flags: 'x' as never }),
      'KVM_XEN_HVM_CONFIG',
    ],
    ['createVcpu(-1)', (vm) => vm.createVcpu(-1), 'KVM_CREATE_VCPU'],
  ]
  for (const [name, call, syscall] of bad)
    it(name, () => {
      const { vm, calls } = setup()
      expect(kvmError(() => call(vm))).toMatchObject({ code: 'EINVAL', errno: -22, syscall })
      expect(calls).toEqual([])
    })

  it('good arguments reach the ioctl, GSI and GPA unchanged', () => {
    const { vm, calls } = setup()
    vm.irqLine(4, true)
    vm.irqfd({ fd: 3, gsi: 0xffff_ffff })
    vm.ioeventfd({ fd: 3, addr: 2 ** 40, len: 8, datamatch: -1n })
    vm.xenHvmSetAttr({ type: 'SHARED_INFO', gfn: abi.KVM_XEN_INVALID_GFN })
    expect(calls.map((c) => c.op)).toEqual([
      'KVM_IRQ_LINE_STATUS',
      'KVM_IRQFD',
      'KVM_IOEVENTFD',
      'KVM_XEN_HVM_SET_ATTR',
    ])
    const arg = (i: number) => (calls[i] as Call).arg as Uint8Array
    const irq = new DataView(arg(0).buffer)
    expect(irq.getUint32(abi.kvm_irq_level.irq, true)).toBe(4)
    const irqfd = new DataView(arg(1).buffer)
    expect(irqfd.getUint32(abi.kvm_irqfd.gsi, true)).toBe(0xffff_ffff)
    const io = new DataView(arg(2).buffer)
    expect(io.getBigUint64(abi.kvm_ioeventfd.addr, true)).toBe(2n ** 40n)
    expect(io.getBigUint64(abi.kvm_ioeventfd.datamatch, true)).toBe((1n << 64n) - 1n)
  })

  it('memoryRegions() reports guestPhysAddr as a number', () => {
    const calls: Call[] = []
    const native = fakeVm(calls)
    native.regions = () => [
      { slot: 0, flags: 0, guestPhysAddr: 0x10_0000n, size: 4096, hostAddress: 0x7f00_0000_0000n },
    ]
    expect(Vm.wrap(native).memoryRegions()[0]?.guestPhysAddr).toBe(0x10_0000)
  })
})

describe('Vcpu refuses bad arguments before the ioctl', () => {
  const bad: [string, (vcpu: Vcpu) => unknown, string][] = [
    ['setRegs({})', (v) => v.setRegs({} as never), 'KVM_SET_REGS'],
    [
      'setRegs with a number rip',
      (v) => v.setRegs({ ...regs(), rip: 0x1000 as never }),
      'KVM_SET_REGS',
    ],
    ['setSregs({})', (v) => v.setSregs({} as never), 'KVM_SET_SREGS'],
    ['setFpu(null)', (v) => v.setFpu(null as never), 'KVM_SET_FPU'],
    ['setMsrs with data 1', (v) => v.setMsrs([{ index: 0x10, data: 1 as never }]), 'KVM_SET_MSRS'],
    ['getMsrs([-1])', (v) => v.getMsrs([-1]), 'KVM_GET_MSRS'],
    ['setCpuid2([{}])', (v) => v.setCpuid2([{} as never]), 'KVM_SET_CPUID2'],
    ['setLapic of 10 bytes', (v) => v.setLapic(new Uint8Array(10)), 'KVM_SET_LAPIC'],
    ['setVcpuEvents of a string', (v) => v.setVcpuEvents('x' as never), 'KVM_SET_VCPU_EVENTS'],
    ['interrupt(256)', (v) => v.interrupt(256), 'KVM_INTERRUPT'],
    ['setMpState(NaN)', (v) => v.setMpState(Number.NaN), 'KVM_SET_MP_STATE'],
    [
      'xenVcpuSetAttr: unknown attribute type',
      (v) => v.xenVcpuSetAttr({ type: 'NOPE' } as never),
      'KVM_XEN_VCPU_SET_ATTR',
    ],
    [
      'xenVcpuSetAttr: TIMER without expiresNs',
      (v) => v.xenVcpuSetAttr({ type: 'TIMER', port: 3, priority: 0 } as never),
      'KVM_XEN_VCPU_SET_ATTR',
    ],
    [
      'xenVcpuGetAttr: unknown type',
      (v) => v.xenVcpuGetAttr('toString' as never),
      'KVM_XEN_VCPU_GET_ATTR',
    ],
  ]
  for (const [name, call, syscall] of bad)
    it(name, () => {
      const { vcpu, calls } = setup()
      expect(kvmError(() => call(vcpu))).toMatchObject({ code: 'EINVAL', errno: -22, syscall })
      expect(calls).toEqual([])
    })

  it('CPUID registers built with bit operations (negative int32s) still go through', () => {
    const { vcpu, calls } = setup()
    vcpu.setCpuid2([{ function: 0, index: 0, flags: 0, eax: 1 << 31, ebx: -1, ecx: 0, edx: 0 }])
    expect(calls.map((c) => c.op)).toEqual(['KVM_SET_CPUID2'])
  })
})

function regs(): Regs {
  const r = {} as Record<string, bigint>
  for (const n of ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp']) r[n] = 0n
  for (let i = 8; i < 16; i++) r[`r${i}`] = 0n
  return { ...r, rip: 0n, rflags: 2n } as unknown as Regs
}

describe('kvm_run after close()', () => {
  it('exitReason and the exit getters are KvmError EBADF, not a TypeError', () => {
    const buffer = new ArrayBuffer(4096)
    const run = new KvmRun(buffer)
    expect(run.exitReason).toBe(0)
    structuredClone(buffer, { transfer: [buffer] }) // what the addon's close() does to it
    for (const read of [() => run.exitReason, () => run.exit(), () => run.io, () => run.xen])
      expect(kvmError(read)).toMatchObject({ code: 'EBADF', errno: -9, detail: 'vcpu closed' })
    expect(kvmError(() => (run.immediateExit = true))).toMatchObject({ code: 'EBADF' })
  })
})

describe('Kvm', () => {
  it("Kvm.open('/dev/kvm\\0junk') is EINVAL, not an open of /dev/kvm", () => {
    for (const path of ['/dev/kvm\0junk', '', 42, null])
      expect(kvmError(() => Kvm.open(path as never))).toMatchObject({
        code: 'EINVAL',
        syscall: 'open',
      })
    // The addon refuses it too, for callers that reach it directly.
    expect(kvmError(() => loadNative().openKvm('/dev/null\0junk'))).toMatchObject({
      code: 'EINVAL',
      syscall: 'open',
    })
  })

  it('getSupportedCpuid(-1 / NaN / 1.5 / 0) is EINVAL before the ioctl', () => {
    // A Kvm over /dev/null: any ioctl that got through would be ENOTTY.
    const kvm = Reflect.construct(Kvm, [loadNative().openKvm('/dev/null')]) as Kvm
    try {
      for (const n of [-1, Number.NaN, 1.5, 0, 2 ** 32])
        expect(kvmError(() => kvm.getSupportedCpuid(n))).toMatchObject({
          code: 'EINVAL',
          syscall: 'KVM_GET_SUPPORTED_CPUID',
        })
      expect(kvmError(() => kvm.getSupportedCpuid(8))).toMatchObject({ code: 'ENOTTY' })
      expect(kvmError(() => kvm.checkExtension(-1))).toMatchObject({ code: 'EINVAL' })
    } finally {
      kvm.close()
    }
  })
})

describe('the addon', () => {
  it('copies a SharedArrayBuffer-backed struct like any other buffer (common.cc ToBytes)', () => {
    const native = loadNative().openKvm('/dev/null')
    try {
      const index = op('KVM_GET_SUPPORTED_CPUID', 'system')
      const room = abi.kvm_cpuid2.size + 2 * abi.kvm_cpuid_entry2.size
      const shared = new Uint8Array(new SharedArrayBuffer(room))
      new DataView(shared.buffer).setUint32(abi.kvm_cpuid2.nent, 2, true)
      // The struct reached the ioctl: /dev/null answers ENOTTY, not a bare "Invalid argument".
      expect(kvmError(() => native.ioctl(index, shared))).toMatchObject({ code: 'ENOTTY' })
      expect(
        kvmError(() => native.ioctl(index, new DataView(shared.buffer) as never)),
      ).toMatchObject({
        code: 'ENOTTY',
      })
    } finally {
      native.close()
    }
  })

  it('refuses a bad argument with KvmError EINVAL, not a TypeError', () => {
    const n = loadNative()
    expect(kvmError(() => n.attachVm(-1))).toMatchObject({ code: 'EINVAL' })
    expect(kvmError(() => n.createEventFd(-1, true, false))).toMatchObject({ code: 'EINVAL' })
    for (const length of [-1, Number.NaN, 0, 1.5, '4096'])
      expect(kvmError(() => n.setMaxBufferLength(length as never))).toMatchObject({
        code: 'EINVAL',
      })
  })

  it('setMaxBufferLength takes a large limit without harm and reports it', () => {
    const n = loadNative()
    expect(n.setMaxBufferLength(2 ** 40)).toBe(2 ** 40)
    // Put the real limit back for the rest of the file.
    expect(n.setMaxBufferLength(constants.MAX_LENGTH)).toBeGreaterThan(0)
  })
})
