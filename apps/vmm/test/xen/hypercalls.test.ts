import { GuestMemory } from '@tsvmm/guest-memory'
import { type EvtchnClock, EvtchnEngine, XenErrno } from '@tsvmm/xen-evtchn'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BOOT_LAYOUT, bootRegisters, writeBootStructures } from '../../src/boot/boot.js'
import { domainHandle } from '../../src/xen/domain-handle.js'
import { HVM_PARAM_PV } from '../../src/xen/hvm-params.js'
import {
  type HypercallExit,
  resultToRax,
  XenPlatform,
  type XenPlatformHost,
} from '../../src/xen/hypercalls.js'

/** A clock test double: time moves only when the test says so. */
function manualClock() {
  let now = 1_000_000
  const due: { at: number; fire: () => void; live: boolean }[] = []
  const clock: EvtchnClock & { advance(ns: number): void } = {
    now: () => now,
    schedule(at, fire) {
      const h = { at, fire, live: true }
      due.push(h)
      return h
    },
    cancel(h) {
      ;(h as { live: boolean }).live = false
    },
    advance(ns) {
      now += ns
      for (const h of due) {
        if (h.live && h.at <= now) {
          h.live = false
          h.fire()
        }
      }
    },
  }
  return clock
}

const RAM = 4 * 1048576
const ARG = 0x200000 // where the tests put hypercall arguments
const SHINFO = 0x300000

/** A platform over a real engine, with a host test double that records what it is asked. */
function setup(width: 64 | 32 = 64, vcpus = 2, extra: Partial<XenPlatformHost> = {}) {
  const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(RAM) }])
  writeBootStructures(memory, width)
  const regs = bootRegisters(width, 0x100000)
  const paging = { cr0: regs.cr0, cr3: regs.cr3, cr4: regs.cr4, efer: regs.efer }
  const notified: number[] = []
  const clock = manualClock()
  const engine = new EvtchnEngine({
    memory,
    vcpus,
    longMode: width === 64,
    notify: (v) => notified.push(v),
    clock,
    domid: 1,
  })
  const calls: string[] = []
  const logs: string[] = []
  const bugs: string[] = []
  const host: XenPlatformHost = {
    memory,
    vcpus,
    domid: 1,
    xenVersion: 0x4_0011,
    events: engine,
    mapSharedInfo(gpa) {
      calls.push(`map 0x${gpa.toString(16)}`)
      engine.setSharedInfo(gpa)
      for (let v = 0; v < vcpus; v++) engine.setVcpuInfo(v, gpa + 64 * v)
      return 0
    },
    setCallbackVector: (v) => calls.push(`callback ${v}`),
    setUpcallVector: (vcpu, v) => calls.push(`upcall ${vcpu} ${v}`),
    shutdown: (reason, vcpu) => calls.push(`shutdown ${reason} ${vcpu}`),
    setRunstateArea: (vcpu, gpa) => calls.push(`runstate ${vcpu} 0x${gpa.toString(16)}`) && 0,
    setVcpuTimeArea: (vcpu, gpa) => calls.push(`time ${vcpu} 0x${gpa.toString(16)}`) && 0,
    log: (m) => logs.push(m),
    bug: (m) => bugs.push(m),
    ...extra,
  }
  const platform = new XenPlatform(host)
  const call = (input: number, params: (number | bigint)[], vcpu = 0, cpl = 0) => {
    const exit: HypercallExit = {
      input: BigInt(input),
      params: params.map(BigInt),
      longMode: width === 64,
      cpl,
    }
    return platform.handle(exit, { vcpu, paging })
  }
  const mapShinfo = () => {
    if (width === 64) {
      memory.writeU16(ARG, 0x7ff0)
      memory.writeU32(ARG + 4, 0)
      memory.writeU64(ARG + 8, 0n)
      memory.writeU64(ARG + 16, BigInt(SHINFO >> 12))
    } else {
      memory.writeU16(ARG, 0x7ff0)
      memory.writeU32(ARG + 4, 0)
      memory.writeU32(ARG + 8, 0)
      memory.writeU32(ARG + 12, SHINFO >> 12)
    }
    return call(12, [7, ARG])
  }
  return {
    memory,
    engine,
    platform,
    host,
    call,
    calls,
    logs,
    bugs,
    notified,
    clock,
    mapShinfo,
    paging,
  }
}

describe('hypercall dispatch', () => {
  it('refuses guest user mode and unknown hypercalls', () => {
    const { call } = setup()
    expect(call(17, [0, 0], 0, 3)).toBe(-XenErrno.EPERM)
    expect(call(60, [])).toBe(-XenErrno.ENOSYS)
    expect(call(0x1_0011, [0, 0])).toBe(-XenErrno.ENOSYS)
  })

  it('xen_version: the version, features, strings, and EFAULT outside RAM', () => {
    const { call, memory } = setup()
    expect(call(17, [0, 0])).toBe(0x4_0011)
    memory.writeU32(ARG, 0)
    expect(call(17, [6, ARG])).toBe(0)
    expect(memory.readU32(ARG + 4) & (1 << 8)).toBe(1 << 8) // XENFEAT_hvm_callback_vector
    expect(call(17, [1, ARG])).toBe(0)
    expect(new TextDecoder().decode(memory.read(ARG, 8))).toBe('.0-tsvmm')
    expect(call(17, [7, 0])).toBe(4096)
    expect(call(17, [6, 0xffff_f000])).toBe(-XenErrno.EFAULT)
    expect(call(17, [42, ARG])).toBe(-XenErrno.ENOSYS)
  })

  it.each([64, 32] as const)('memory_op add_to_physmap maps shared_info (%i-bit layout)', (w) => {
    const { mapShinfo, calls } = setup(w)
    expect(mapShinfo()).toBe(0)
    expect(calls).toEqual([`map 0x${SHINFO.toString(16)}`])
  })

  it('memory_op rejects what Xen and QEMU reject', () => {
    const { call, memory } = setup()
    const xatp = (domid: number, space: number, idx: bigint, gpfn: bigint) => {
      memory.writeU16(ARG, domid)
      memory.writeU32(ARG + 4, space)
      memory.writeU64(ARG + 8, idx)
      memory.writeU64(ARG + 16, gpfn)
      return call(12, [7, ARG])
    }
    expect(xatp(5, 0, 0n, 0x300n)).toBe(-XenErrno.ESRCH)
    expect(xatp(0x7ff0, 0, 1n, 0x300n)).toBe(-XenErrno.EINVAL)
    expect(xatp(0x7ff0, 0, 0n, 0xfffffn)).toBe(-XenErrno.EINVAL)
    expect(xatp(0x7ff0, 1, 0n, 0x300n)).toBe(-XenErrno.EOPNOTSUPP)
    expect(xatp(0x7ff0, 4, 0n, 0x300n)).toBe(-XenErrno.EPERM)
    expect(xatp(0x7ff0, 99, 0n, 0x300n)).toBe(-XenErrno.EINVAL)
    expect(call(12, [7, 0xffff_fff0])).toBe(-XenErrno.EFAULT)
    expect(call(12, [99, ARG])).toBe(-XenErrno.ENOSYS)
  })

  it('memory_op: a command with continuation bits (start extent) set is not add_to_physmap', () => {
    const { call, memory, calls } = setup()
    memory.writeU16(ARG, 0x7ff0)
    memory.writeU32(ARG + 4, 0) // shared_info
    memory.writeU64(ARG + 8, 0n)
    memory.writeU64(ARG + 16, BigInt(SHINFO >> 12))
    // The low 6 bits are the op, the rest a continuation's start extent (MEMOP_EXTENT_SHIFT):
    // a guest passing one gets ENOSYS, as from QEMU, and nothing is mapped.
    expect(call(12, [7 | (1 << 6), ARG])).toBe(-XenErrno.ENOSYS)
    expect(call(12, [7 | (0x3ff << 6), ARG])).toBe(-XenErrno.ENOSYS)
    expect(calls).toEqual([])
    expect(call(12, [7, ARG])).toBe(0)
    expect(calls).toEqual([`map 0x${SHINFO.toString(16)}`])
  })

  it('hvm_op: the toolstack-set store and console parameters read back; the guest cannot set them', () => {
    const params = new Map([
      [HVM_PARAM_PV.STORE_PFN, 0x1fffen],
      [HVM_PARAM_PV.STORE_EVTCHN, 1n],
      [HVM_PARAM_PV.CONSOLE_PFN, 0x1fffdn],
      [HVM_PARAM_PV.CONSOLE_EVTCHN, 2n],
    ])
    const { call, memory } = setup(64, 2, { params })
    const get = (index: number) => {
      memory.writeU16(ARG, 0x7ff0)
      memory.writeU32(ARG + 4, index)
      memory.writeU64(ARG + 8, 0xdeadn)
      const rc = call(34, [1, ARG])
      return rc === 0 ? memory.readU64(ARG + 8) : rc
    }
    for (const [index, value] of params) expect(get(index)).toBe(value)
    memory.writeU64(ARG + 8, 5n)
    expect(call(34, [0, ARG])).toBe(-XenErrno.EPERM) // set_param(CONSOLE_EVTCHN)
    expect(get(HVM_PARAM_PV.CONSOLE_EVTCHN)).toBe(2n)
    // Another domain's parameters: -ESRCH.
    memory.writeU16(ARG, 7)
    expect(call(34, [1, ARG])).toBe(-XenErrno.ESRCH)
  })

  it('xen_version(guest_handle): the configured domain handle, zeros without one', () => {
    const uuid = '3f2504e0-4f89-41d3-9a0c-0305e82c3301'
    const handle = domainHandle(uuid) as Uint8Array
    const { call, memory } = setup(64, 2, { handle })
    memory.fill(ARG, 16, 0xff)
    expect(call(17, [8, ARG])).toBe(0)
    const hex = Buffer.from(memory.read(ARG, 16)).toString('hex')
    expect(hex).toBe(uuid.replaceAll('-', ''))
    const plain = setup()
    plain.memory.fill(ARG, 16, 0xff)
    expect(plain.call(17, [8, ARG])).toBe(0)
    expect([...plain.memory.read(ARG, 16)]).toEqual(new Array(16).fill(0))
    expect(plain.call(17, [8, 0xffff_ffff_0000n])).toBe(-XenErrno.EFAULT)
  })

  it('hvm_op: callback vector, per-vCPU upcall vector and their errors', () => {
    const { call, memory, calls } = setup()
    const param = (index: number, value: bigint, op = 0) => {
      memory.writeU16(ARG, 0x7ff0)
      memory.writeU32(ARG + 4, index)
      memory.writeU64(ARG + 8, value)
      return call(34, [op, ARG])
    }
    expect(param(0, (2n << 56n) | 0xf3n)).toBe(0)
    expect(param(0, (2n << 56n) | 0x05n)).toBe(-XenErrno.EINVAL)
    expect(param(0, (5n << 56n) | 0x33n)).toBe(-XenErrno.EINVAL)
    memory.writeU64(ARG + 8, 0n)
    expect(param(0, 0n, 1)).toBe(0)
    expect(memory.readU64(ARG + 8)).toBe((2n << 56n) | 0xf3n)
    // GSI and PCI INTx are stored (Linux's xen_set_upcall_vector sets GSI 1), never delivered.
    expect(param(0, 1n)).toBe(0)
    expect(param(0, 0n, 1)).toBe(0)
    expect(memory.readU64(ARG + 8)).toBe(1n)
    expect(param(0, (1n << 56n) | (3n << 11n) | 1n)).toBe(0)
    expect(param(0, (1n << 56n) | (1n << 16n))).toBe(-XenErrno.EINVAL) // bus 1 does not exist
    expect(param(0, 48n)).toBe(-XenErrno.EINVAL) // no such GSI
    expect(param(0, 0n)).toBe(0)
    // Unset parameters read 0; the guest sets only CALLBACK_IRQ; beyond HVM_NR_PARAMS: -EINVAL.
    memory.writeU64(ARG + 8, 0xdeadn)
    expect(param(1, 0n, 1)).toBe(0) // HVM_PARAM_STORE_PFN
    expect(memory.readU64(ARG + 8)).toBe(0n)
    expect(param(18, 0n, 1)).toBe(0) // HVM_PARAM_CONSOLE_EVTCHN
    expect(param(5, 1n)).toBe(-XenErrno.EPERM)
    expect(param(39, 0n, 1)).toBe(-XenErrno.EINVAL)
    // HVMOP_pagetable_dying: harmless -ENOSYS
    expect(call(34, [9, ARG])).toBe(-XenErrno.ENOSYS)
    const vec = (vcpu: number, vector: number) => {
      memory.writeU32(ARG, vcpu)
      memory.writeU8(ARG + 4, vector)
      return call(34, [23, ARG])
    }
    expect(vec(1, 0xf3)).toBe(0)
    expect(vec(0, 0x05)).toBe(-XenErrno.EINVAL)
    // Xen's lower bound is 0x10 (hvm_set_evtchn_upcall_vector): both sides of it.
    expect(vec(0, 0x0f)).toBe(-XenErrno.EINVAL)
    expect(vec(0, 0x10)).toBe(0)
    expect(vec(9, 0xf3)).toBe(-XenErrno.ENOENT)
    expect(call(34, [99, ARG])).toBe(-XenErrno.ENOSYS)
    expect(param(0, (2n << 56n) | 0x0fn)).toBe(-XenErrno.EINVAL)
    expect(param(0, (2n << 56n) | 0x10n)).toBe(0)
    expect(calls).toEqual([
      'callback 243',
      'callback 0',
      'upcall 1 243',
      'upcall 0 16',
      'callback 16',
    ])
  })

  it('vcpu_op: runstate and time areas are registered by guest virtual address, translated', () => {
    const { call, memory, calls } = setup()
    memory.writeU64(ARG, 0x250000n) // identity-mapped: the GPA is the GVA
    expect(call(24, [5, 1, ARG])).toBe(0) // VCPUOP_register_runstate_memory_area
    expect(call(24, [13, 0, ARG])).toBe(0) // VCPUOP_register_vcpu_time_memory_area
    expect(calls).toEqual(['runstate 1 0x250000', 'time 0 0x250000'])
    memory.writeU64(ARG, BigInt(RAM - 16)) // the 48-byte area runs past RAM
    expect(call(24, [5, 0, ARG])).toBe(-XenErrno.EFAULT)
    expect(call(24, [5, 0, 0xffff_fff0])).toBe(-XenErrno.EFAULT)
    expect(call(24, [5, 2, ARG])).toBe(-XenErrno.ENOENT)
    // The timer stops Linux issues at boot succeed for a valid vCPU (a failure is a BUG()).
    expect(call(24, [7, 0, 0])).toBe(0) // stop_periodic_timer
    expect(call(24, [9, 0, 0])).toBe(0) // stop_singleshot_timer
  })

  it('harmless -ENOSYS for FIFO init_control, vm_assist, console_io and grant tables', () => {
    const { call } = setup()
    expect(call(32, [11, ARG])).toBe(-XenErrno.ENOSYS) // EVTCHNOP_init_control
    expect(call(21, [0, 0])).toBe(-XenErrno.ENOSYS) // vm_assist
    expect(call(18, [0, 0, ARG])).toBe(-XenErrno.ENOSYS) // console_io
    expect(call(20, [0, ARG, 1])).toBe(-XenErrno.ENOSYS) // grant_table_op: no table (no PV devices)
  })

  it('vcpu_op: is_up, register_vcpu_info once, and the target vCPU check first', () => {
    const { call, memory, engine, mapShinfo } = setup()
    mapShinfo()
    expect(call(24, [3, 1, 0])).toBe(1)
    expect(call(24, [3, 2, 0])).toBe(-XenErrno.ENOENT)
    memory.writeU64(ARG, 0x210n) // mfn
    memory.writeU32(ARG + 8, 0x40) // offset
    expect(call(24, [10, 1, ARG], 1)).toBe(0)
    expect(call(24, [10, 1, ARG], 1)).toBe(-XenErrno.EINVAL)
    expect(engine.vcpuInfo(1)).toBe(0x210040)
    expect(engine.vcpuInfoRegistered(1)).toBe(true)
    expect(call(24, [10, 7, ARG])).toBe(-XenErrno.ENOENT)
    expect(call(24, [99, 0, ARG])).toBe(-XenErrno.ENOSYS)
  })

  it('singleshot timers fire VIRQ_TIMER; a past deadline fires at once even with VCPU_SSHOTTMR_future', () => {
    const { call, memory, engine, clock, mapShinfo } = setup()
    mapShinfo()
    memory.writeU32(ARG, 0) // virq TIMER
    memory.writeU32(ARG + 4, 0) // vcpu 0
    expect(call(32, [1, ARG])).toBe(0)
    const port = memory.readU32(ARG + 8)
    memory.writeU64(ARG, BigInt(clock.now() - 1000))
    memory.writeU32(ARG + 8, 1) // VCPU_SSHOTTMR_future
    expect(call(24, [8, 0, ARG])).toBe(0)
    clock.advance(0)
    expect(engine.portInfo(port).pending).toBe(true)
    expect(call(24, [8, 1, ARG])).toBe(-XenErrno.EINVAL) // another vCPU's timer
    expect(call(24, [8, 0, 0xffff_fff8])).toBe(-XenErrno.EFAULT)
  })

  it('event_channel_op goes to the engine, which writes results back', () => {
    const { call, memory, engine, mapShinfo, notified } = setup()
    mapShinfo()
    memory.writeU32(ARG, 1) // vcpu 1
    expect(call(32, [7, ARG])).toBe(0) // bind_ipi
    const port = memory.readU32(ARG + 4)
    expect(port).toBeGreaterThan(0)
    memory.writeU32(ARG, port)
    expect(call(32, [4, ARG])).toBe(0) // send
    expect(engine.portInfo(port).pending).toBe(true)
    expect(notified).toEqual([1])
    expect(call(32, [4, 0xffff_fffe])).toBe(-XenErrno.EFAULT)
    expect(call(32, [99, ARG])).toBe(-XenErrno.ENOSYS)
  })

  it('sched_op: yield, block, shutdown, poll and their errors', () => {
    const { call, memory, calls } = setup()
    expect(call(29, [0, 0])).toBe(0)
    expect(call(29, [1, 0])).toBe(0)
    memory.writeU32(ARG, 9)
    expect(call(29, [2, ARG])).toBe(-XenErrno.EINVAL)
    memory.writeU32(ARG, 0)
    expect(call(29, [2, ARG], 1)).toBe(0)
    expect(calls).toEqual(['shutdown 0 1'])
    // poll: ports at ARG+64
    memory.writeU64(ARG, BigInt(ARG + 64))
    memory.writeU32(ARG + 8, 200)
    expect(call(29, [3, ARG])).toBe(-XenErrno.EINVAL)
    memory.writeU32(ARG + 8, 1)
    memory.writeU32(ARG + 64, 5000)
    expect(call(29, [3, ARG])).toBe(-XenErrno.EINVAL)
    memory.writeU32(ARG + 64, 3)
    expect(call(29, [3, ARG])).toBe(0)
    // do_poll's limit is 128 ports: both sides of it, with every port valid.
    for (let i = 0; i < 129; i++) memory.writeU32(ARG + 64 + 4 * i, 3)
    memory.writeU32(ARG + 8, 128)
    expect(call(29, [3, ARG])).toBe(0)
    memory.writeU32(ARG + 8, 129)
    expect(call(29, [3, ARG])).toBe(-XenErrno.EINVAL)
    memory.writeU16(ARG, 3)
    memory.writeU32(ARG + 4, 0)
    expect(call(29, [4, ARG])).toBe(-XenErrno.ESRCH)
    expect(call(29, [77, ARG])).toBe(-XenErrno.ENOSYS)
  })

  it.each([64, 32] as const)(
    'sched_op poll: a port list tsvmm cannot read is -EFAULT, as do_poll (%i-bit layout)',
    (width) => {
      // Issue 16 item 4: a poll that returned 0 for a list outside RAM passed every other test.
      const { call, memory, mapShinfo } = setup(width)
      expect(mapShinfo()).toBe(0)
      const poll = (portsGva: number, nr: number) => {
        if (width === 64) {
          memory.writeU64(ARG, BigInt(portsGva))
          memory.writeU32(ARG + 8, nr)
        } else {
          memory.writeU32(ARG, portsGva)
          memory.writeU32(ARG + 4, nr)
        }
        return call(29, [3, ARG])
      }
      memory.writeU32(RAM - 4, 3)
      // The last port of RAM is readable; one more port crosses the end; a list past it is gone.
      expect(poll(RAM - 4, 1)).toBe(0)
      expect(poll(RAM - 4, 2)).toBe(-XenErrno.EFAULT)
      expect(poll(RAM, 1)).toBe(-XenErrno.EFAULT)
      // nr_ports is checked before the list is read (do_poll: -EINVAL first).
      expect(poll(RAM, 129)).toBe(-XenErrno.EINVAL)
      // The sched_poll struct itself outside RAM.
      expect(call(29, [3, RAM])).toBe(-XenErrno.EFAULT)
    },
  )

  it('32-bit guests: set_timer_op takes its timeout from two registers', () => {
    const { call, memory, engine, clock, mapShinfo } = setup(32)
    mapShinfo()
    memory.writeU32(ARG, 0)
    memory.writeU32(ARG + 4, 1)
    expect(call(32, [1, ARG], 1)).toBe(0)
    const port = memory.readU32(ARG + 8)
    const t = BigInt(clock.now() + 5_000_000)
    expect(call(15, [t & 0xffff_ffffn, t >> 32n], 1)).toBe(0)
    clock.advance(4_000_000)
    expect(engine.portInfo(port).pending).toBe(false)
    clock.advance(2_000_000)
    expect(engine.portInfo(port).pending).toBe(true)
  })

  it('never throws nor fails inside, whatever the guest passes', () => {
    const { platform, memory, bugs, mapShinfo, paging } = setup()
    // shared_info mapped, so event channel ops get past their first check.
    expect(mapShinfo()).toBe(0)
    const PAGE = 4096
    const XEN_ERRNOS = new Set<number>(Object.values(XenErrno))
    // Pointers where argument parsing goes deep: into RAM (the argument page, anywhere), just
    // below a page edge or the end of RAM (a read that crosses it), plus any u64 and small values.
    const pointer = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(BigInt(ARG), BigInt(ARG + 64)) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: RAM - 1 }).map(BigInt) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.integer({ min: 1, max: RAM / PAGE }), fc.integer({ min: 1, max: 32 }))
          .map(([page, back]) => BigInt(page * PAGE - back)),
      },
      { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map(BigInt) },
    )
    // Hypercall and sub-op pairs tsvmm implements (so that parsing goes past the dispatch), and
    // sometimes anything at all.
    const range = (n: number) => [...Array(n).keys()]
    const KNOWN: [number, number][] = [
      ...range(11).map((c): [number, number] => [17, c]),
      [12, 7],
      [34, 0],
      [34, 1],
      [34, 23],
      ...[3, 6, 7, 8, 9, 10].map((c): [number, number] => [24, c]),
      ...range(13).map((c): [number, number] => [32, c]),
      ...range(6).map((c): [number, number] => [29, c]),
      [15, 0],
    ]
    const any64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
    const small = fc.integer({ min: 0, max: 40 }).map(BigInt)
    const hypercall = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .constantFrom(...KNOWN)
          .map(([n, c]): [bigint, bigint] => [BigInt(n), BigInt(c)]),
      },
      { weight: 1, arbitrary: fc.tuple(any64, fc.oneof(any64, small)) },
    )
    fc.assert(
      fc.property(
        hypercall,
        fc.array(pointer, { minLength: 5, maxLength: 5 }),
        // The argument page: random bytes, with a pointer to its second half and a small count
        // planted at the front half the time (sched_poll's ports and nr_ports, say).
        fc.uint8Array({ minLength: 128, maxLength: 128 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 3 }),
        ([input, cmd], pointers, bytes, plant, longMode, vcpu) => {
          memory.write(ARG, bytes)
          if (plant) {
            // A handle to the page's second half and a count of at most 127 after it, in the
            // layout of the guest's width (sched_poll: an 8- or 4-byte handle).
            if (longMode) memory.writeU64(ARG, BigInt(ARG + 64))
            else memory.writeU32(ARG, ARG + 64)
            memory.writeU32(ARG + (longMode ? 8 : 4), (bytes[0] ?? 0) & 0x7f)
          }
          const r = platform.handle(
            { input, params: [cmd, ...pointers], longMode, cpl: 0 },
            { vcpu: vcpu % 2, paging },
          )
          // A result the guest can use: a count or a Xen errno, and no exception inside.
          expect(Number.isSafeInteger(r)).toBe(true)
          if (r < 0) expect(XEN_ERRNOS.has(-r), `errno ${r}`).toBe(true)
          expect(bugs).toEqual([])
        },
      ),
      { numRuns: 5000 },
    )
    // 3000 runs take seconds, more on a loaded machine: the default 5 s is not a budget.
  }, 120_000)

  it('an exception inside a handler is counted as a tsvmm bug, and the guest gets EFAULT', () => {
    const { host, paging } = setup()
    const bugs: string[] = []
    const platform = new XenPlatform({
      ...host,
      bug: (m) => bugs.push(m),
      events: {
        hypercall: () => {
          throw new TypeError('a bug')
        },
        vcpuOp: () => 0,
        setTimerOp: () => 0,
        vcpuInfo: () => null,
        geometry: { portLimit: 4096 },
      },
    })
    const exit = { input: 32n, params: [4n, BigInt(ARG)], longMode: true, cpl: 0 }
    expect(platform.handle(exit, { vcpu: 0, paging })).toBe(-XenErrno.EFAULT)
    expect(bugs).toHaveLength(1)
    expect(bugs[0]).toMatch(/hypercall 32 \(4\) from vCPU 0 threw: TypeError: a bug/)
  })

  it('encodes negative results as KVM wants them in RAX', () => {
    expect(resultToRax(-22)).toBe(0xffff_ffff_ffff_ffean)
    expect(resultToRax(5)).toBe(5n)
    expect(BOOT_LAYOUT.gdt).toBeLessThan(0x1000)
  })
})
