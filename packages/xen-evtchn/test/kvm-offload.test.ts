// The kernel offload's bookkeeping, against a test double of the VM that records each ioctl (the
// real kernel is in differential.kvm.test.ts and guest-send.kvm.test.ts).
import { GuestMemory } from '@tsvmm/guest-memory'
import { decodeRouting } from '@tsvmm/irq-routing'
import { abi, KvmError, type Vm, type XenVcpuAttr } from '@tsvmm/kvm-sys'
import { describe, expect, it } from 'vitest'
import { EVTCHNOP, EvtchnEngine, EvtchnError, VIRQ } from '../src/index.js'
import { KvmEvtchn, kernelCanDeliver, type VcpuPort } from '../src/kvm.js'

type Call = { op: string; arg: unknown }

/** Records what the offload asks of KVM; fails EVTCHN_SEND for ports in `refuse`. */
class VmDouble {
  calls: Call[] = []
  refuse = new Set<number>()
  checkExtension(cap: number) {
    this.calls.push({ op: 'checkExtension', arg: cap })
    return 0x1ff
  }
  xenHvmSetAttr(arg: unknown) {
    this.calls.push({ op: 'hvmAttr', arg })
  }
  xenEvtchnSend(arg: { port: number; vcpu: number }) {
    if (this.refuse.has(arg.port)) throw new KvmError(-22, 'KVM_XEN_HVM_EVTCHN_SEND')
    this.calls.push({ op: 'send', arg: { ...arg } })
  }
  setGsiRouting(table: Uint8Array) {
    this.calls.push({
      op: 'routing',
      arg: decodeRouting(table).filter((e) => e.type === 'xenEvtchn'),
    })
  }
  irqfd(arg: { fd: number; gsi: number; deassign?: boolean }) {
    this.calls.push({ op: arg.deassign ? 'irqfd-' : 'irqfd+', arg: arg.gsi })
  }
  /** The calls recorded so far (only those of `op` if given), forgetting them. */
  take(op?: string): Call[] {
    const out = this.calls.filter((c) => op === undefined || c.op === op)
    this.calls = this.calls.filter((c) => op !== undefined && c.op !== op)
    return out
  }
}

/** The VMM's vCPU port: records the attributes set on each vCPU and the kicks. */
class VcpusDouble implements VcpuPort {
  readonly attrs: XenVcpuAttr[][]
  readonly kicks: number[] = []
  constructor(readonly count: number) {
    this.attrs = Array.from({ length: count }, () => [])
  }
  // KVM vCPU ids (APIC IDs) differ from the Xen ids on purpose.
  apicId(vcpu: number) {
    return 10 + vcpu
  }
  setAttr(vcpu: number, attr: XenVcpuAttr) {
    this.attrs[vcpu]?.push(attr)
  }
  kick(vcpu: number) {
    this.kicks.push(vcpu)
  }
}

function setup(flags?: number, extra: { pvclock?: boolean } = {}) {
  const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x40000) }])
  const notified: number[] = []
  const engine = new EvtchnEngine({ memory, vcpus: 2, notify: (v) => notified.push(v) })
  const vm = new VmDouble()
  const vcpus = new VcpusDouble(2)
  const offload = new KvmEvtchn({
    engine,
    vm: vm as unknown as Vm,
    vcpus,
    ...(flags === undefined ? {} : { xenHvmFlags: flags }),
    ...extra,
  })
  const op = (cmd: number, words: number[]) => {
    words.forEach((w, i) => {
      memory.writeU32(0x20000 + 4 * i, w)
    })
    return engine.hypercall(cmd, 0x20000, 0)
  }
  return { memory, engine, vm, vcpus, offload, notified, op }
}

describe('KvmEvtchn', () => {
  it('needs both EVTCHN_2LEVEL and EVTCHN_SEND', () => {
    expect(kernelCanDeliver(0x1ff)).toBe(true)
    expect(kernelCanDeliver(abi.KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL)).toBe(false)
    expect(kernelCanDeliver(abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND)).toBe(false)
  })

  it('without them: userspace delivery and no kernel calls; backend eventfds drained here', () => {
    const g = setup(abi.KVM_XEN_HVM_CONFIG_SHARED_INFO)
    expect(g.offload.inKernel).toBe(false)
    g.offload.setSharedInfo(0x10000)
    g.offload.setVcpuInfo(0, 0x10000)
    expect(g.offload.setPending(5, 0)).toBe(1)
    expect(g.offload.setPending(5, 0)).toBe(0)
    expect(g.notified).toEqual([0])
    const port = g.engine.backendAllocUnbound()
    expect(g.offload.backendBind(port, () => {})).toBe(0)
    expect(g.offload.backendSendFd(port)).toBe(null)
    // A device's notification is raised in userspace, as KVM's irqfd would raise it.
    g.offload.backendNotifyFd(port)?.write(1)
    expect(g.engine.portInfo(port).pending).toBe(false)
    g.offload.pollBackends()
    expect(g.engine.portInfo(port).pending).toBe(true)
    expect(g.vm.calls).toEqual([])
    expect(g.vcpus.attrs).toEqual([[], []])
    g.offload.close()
    expect(g.offload.backendNotifyFd(port)).toBe(null)
  })

  it('userspace delivery with pvclock: KVM still gets the width and every vcpu_info', () => {
    const g = setup(abi.KVM_XEN_HVM_CONFIG_SHARED_INFO, { pvclock: true })
    expect(g.offload.inKernel).toBe(false)
    g.offload.setSharedInfo(0x10000)
    g.offload.setVcpuInfo(1, 0x10040)
    expect(g.vm.take('hvmAttr').map((c) => c.arg)).toEqual([{ type: 'LONG_MODE', longMode: true }])
    expect(g.vcpus.attrs[1]).toEqual([
      { type: 'VCPU_INFO', gpa: abi.KVM_XEN_INVALID_GPA },
      { type: 'VCPU_INFO', gpa: 0x10040n },
    ])
    // The guest registers its own: the engine reports it, the offload tells KVM.
    g.memory.writeU32(0x20000, 0x11) // mfn
    g.memory.writeU32(0x20004, 0)
    g.memory.writeU32(0x20008, 0x80) // offset
    expect(g.engine.vcpuOp(10, 0, 0x20000, 0)).toBe(0) // VCPUOP_register_vcpu_info
    expect(g.vcpus.attrs[0]?.at(-1)).toEqual({ type: 'VCPU_INFO', gpa: 0x11080n })
    expect(
      () =>
        new KvmEvtchn({
          engine: g.engine,
          vm: g.vm as unknown as Vm,
          vcpus: g.vcpus,
          xenHvmFlags: 0,
          kernel: true,
        }),
    ).toThrow(EvtchnError)
  })

  it('userspace delivery with pvclock: KVM gets each vCPU upcall vector where it has EVTCHN_SEND', () => {
    // KVM re-injects a vCPU's vector when the guest enables its local APIC with an upcall
    // pending (kvm_xen_sw_enable_lapic); without it Linux's first upcall was lost and its vCPU
    // never saw an event again (user delivery hung at AP bring-up).
    const send = abi.KVM_XEN_HVM_CONFIG_SHARED_INFO | abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND
    const g = setup(send, { pvclock: true })
    expect(g.offload.inKernel).toBe(false)
    g.offload.setVcpuUpcallVector(1, 0xf3)
    expect(g.vcpus.attrs[1]?.at(-1)).toEqual({ type: 'UPCALL_VECTOR', vector: 0xf3 })
    // Older kernels have no such attribute: nothing is asked of them.
    const old = setup(abi.KVM_XEN_HVM_CONFIG_SHARED_INFO, { pvclock: true })
    old.offload.setVcpuUpcallVector(1, 0xf3)
    expect(old.vcpus.attrs[1]?.some((a) => a.type === 'UPCALL_VECTOR')).toBe(false)
    // Without pvclock KVM is told nothing at all.
    const bare = setup(send)
    bare.offload.setVcpuUpcallVector(1, 0xf3)
    expect(bare.vcpus.attrs[1]).toEqual([])
  })

  it('asks the VM for KVM_CAP_XEN_HVM when not told, and configures the kernel', () => {
    const g = setup()
    expect(g.vm.take('checkExtension')).toEqual([{ op: 'checkExtension', arg: abi.Cap.XEN_HVM }])
    expect(g.offload.inKernel).toBe(true)
    expect(g.vm.take('hvmAttr').map((c) => c.arg)).toEqual([
      { type: 'LONG_MODE', longMode: true },
      { type: 'SHARED_INFO', gfn: abi.KVM_XEN_INVALID_GFN },
    ])
    expect(g.vcpus.attrs[1]).toEqual([
      { type: 'VCPU_ID', vcpuId: 1 },
      { type: 'VCPU_INFO', gpa: abi.KVM_XEN_INVALID_GPA },
    ])
    g.offload.setLongMode(false)
    g.offload.setSharedInfo(0x10000)
    g.offload.setVcpuInfo(1, 0x10040)
    g.offload.setUpcallVector(0xf3)
    g.offload.setVcpuUpcallVector(1, 0x20)
    expect(g.vm.take('hvmAttr').map((c) => c.arg)).toEqual([
      { type: 'LONG_MODE', longMode: false },
      { type: 'SHARED_INFO', gfn: 0x10n },
      { type: 'UPCALL_VECTOR', vector: 0xf3 },
    ])
    expect(g.vcpus.attrs[1]?.slice(2)).toEqual([
      { type: 'VCPU_INFO', gpa: 0x10040n },
      { type: 'UPCALL_VECTOR', vector: 0x20 },
    ])
    expect(g.engine.longMode).toBe(false)
    expect(() => g.offload.setUpcallVector(0x0f)).toThrow(EvtchnError)
    expect(() => g.offload.setVcpuUpcallVector(0, 256)).toThrow(EvtchnError)
  })

  it('delivers through KVM_XEN_HVM_EVTCHN_SEND with the KVM vCPU id', () => {
    const g = setup()
    g.offload.setSharedInfo(0x10000)
    g.vm.take()
    expect(g.offload.setPending(7, 1)).toBe(1)
    expect(g.vm.take('send').map((c) => c.arg)).toEqual([{ port: 7, vcpu: 11 }])
    // Refusals: checked before the kernel, or the kernel's errno.
    expect(g.offload.setPending(0, 0)).toBe(-22)
    expect(g.offload.setPending(4096, 0)).toBe(-22)
    expect(g.offload.setPending(1, 2)).toBe(-22)
    g.vm.refuse.add(9)
    expect(g.offload.setPending(9, 0)).toBe(-22)
    expect(g.vm.take('send')).toEqual([])
    // Guest memory was not touched by userspace.
    expect(g.engine.portInfo(7).pending).toBe(false)
  })

  it("routes the engine's own deliveries (VIRQs, loopback sends) to the kernel", () => {
    const g = setup()
    g.offload.setSharedInfo(0x10000)
    expect(g.op(EVTCHNOP.bind_virq, [VIRQ.DEBUG, 1, 0])).toBe(0)
    const port = g.memory.readU32(0x20008)
    g.vm.take()
    expect(g.engine.raiseVirq(VIRQ.DEBUG, 1)).toBe(1)
    expect(g.vm.take('send').map((c) => c.arg)).toEqual([{ port, vcpu: 11 }])
    g.offload.close()
    expect(g.engine.raiseVirq(VIRQ.DEBUG, 1)).toBe(1) // userspace again
    expect(g.vm.take('send')).toEqual([])
  })

  it('IPI ports: assigned to the kernel when bound, deassigned when closed', () => {
    const g = setup()
    g.vm.take()
    expect(g.op(EVTCHNOP.bind_ipi, [1, 0])).toBe(0)
    const port = g.memory.readU32(0x20004)
    expect(g.vm.take('hvmAttr').map((c) => c.arg)).toEqual([
      { type: 'EVTCHN', sendPort: port, evtchnType: 5, flags: 0, deliver: { port, vcpu: 11 } },
    ])
    // A send does not resync; an unrelated op changes nothing in the kernel.
    expect(g.op(EVTCHNOP.send, [port])).toBe(0)
    expect(g.op(EVTCHNOP.status, [0x7ff0, 99, 0, 0, 0, 0])).toBe(0)
    expect(g.vm.take('hvmAttr')).toEqual([])
    expect(g.op(EVTCHNOP.close, [port])).toBe(0)
    expect(g.vm.take('hvmAttr').map((c) => c.arg)).toMatchObject([
      { type: 'EVTCHN', sendPort: port, flags: abi.KVM_XEN_EVTCHN_DEASSIGN },
    ])
  })

  it('loopback interdomain ports raise their peer in the kernel; VIRQ_TIMER becomes the vCPU timer', () => {
    const g = setup()
    g.vm.take()
    // evtchn_alloc_unbound: dom and remote_dom (u16 each) both DOMID_SELF: a loopback port.
    expect(g.op(EVTCHNOP.alloc_unbound, [0x7ff07ff0, 0])).toBe(0)
    const a = g.memory.readU32(0x20004)
    expect(g.op(EVTCHNOP.bind_vcpu, [a, 1])).toBe(0)
    expect(g.vm.take('hvmAttr')).toEqual([]) // unbound: nothing for the kernel yet
    expect(g.op(EVTCHNOP.bind_interdomain, [0x7ff0, a, 0])).toBe(0)
    const b = g.memory.readU32(0x20008)
    expect(g.vm.take('hvmAttr').map((c) => c.arg)).toEqual([
      { type: 'EVTCHN', sendPort: a, evtchnType: 2, flags: 0, deliver: { port: b, vcpu: 10 } },
      { type: 'EVTCHN', sendPort: b, evtchnType: 2, flags: 0, deliver: { port: a, vcpu: 11 } },
    ])
    expect(g.offload.kernelSendPorts).toBe(2)
    expect(g.op(EVTCHNOP.bind_virq, [VIRQ.TIMER, 1, 0])).toBe(0)
    const timer = g.memory.readU32(0x20008)
    expect(g.vcpus.attrs[1]?.at(-1)).toEqual({
      type: 'TIMER',
      port: timer,
      priority: abi.KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
      expiresNs: 0n,
    })
    // Closing one end: both assignments go (the peer is unbound again), and the timer stops.
    expect(g.op(EVTCHNOP.close, [a])).toBe(0)
    expect(g.vm.take('hvmAttr').map((c) => c.arg)).toMatchObject([
      { sendPort: a, flags: abi.KVM_XEN_EVTCHN_DEASSIGN },
      { sendPort: b, flags: abi.KVM_XEN_EVTCHN_DEASSIGN },
    ])
    expect(g.op(EVTCHNOP.close, [timer])).toBe(0)
    expect(g.vcpus.attrs[1]?.at(-1)).toMatchObject({ type: 'TIMER', port: 0 })
    expect(g.vcpus.kicks).toEqual([])
  })

  it('backend ports: eventfd assignment, XEN_EVTCHN route and irqfd; moved and dropped in order', () => {
    const g = setup()
    g.offload.setSharedInfo(0x10000)
    const port = g.engine.backendAllocUnbound(0)
    g.vm.take()
    expect(g.offload.backendBind(port, () => {})).toBe(0)
    const sendFd = g.offload.backendSendFd(port)
    const notifyFd = g.offload.backendNotifyFd(port)
    expect(sendFd?.fd).toBeGreaterThan(0)
    expect(notifyFd?.fd).toBeGreaterThan(0)
    const calls = g.vm.take()
    expect(calls.map((c) => c.op)).toEqual(['hvmAttr', 'routing', 'irqfd+'])
    expect(calls[0]?.arg).toEqual({
      type: 'EVTCHN',
      sendPort: port,
      evtchnType: 2,
      flags: 0,
      deliver: { eventfd: sendFd?.fd },
    })
    const gsi = calls[2]?.arg as number
    expect(calls[1]?.arg).toEqual([
      { gsi, type: 'xenEvtchn', port, vcpu: 10, priority: 0xffffffff },
    ])
    // The guest moves it to vCPU 1: the route follows.
    expect(g.op(EVTCHNOP.bind_vcpu, [port, 1])).toBe(0)
    expect(g.vm.take().map((c) => [c.op, c.arg])).toEqual([
      ['routing', [{ gsi, type: 'xenEvtchn', port, vcpu: 11, priority: 0xffffffff }]],
    ])
    // A send the kernel took arrives on the eventfd; pollBackends turns it into onSend.
    const heard: number[] = []
    g.offload.backendUnbind(port)
    g.vm.take()
    g.offload.backendBind(port, (p) => heard.push(p))
    g.offload.backendSendFd(port)?.write(1)
    expect(g.offload.pollBackends()).toBe(1)
    expect(heard).toEqual([port])
    expect(g.offload.pollBackends()).toBe(0)
    g.vm.take()
    // The guest closes it: the irqfd goes before its route, then the assignment.
    expect(g.op(EVTCHNOP.close, [port])).toBe(0)
    const drop = g.vm.take().map((c) => c.op)
    expect(drop).toEqual(['hvmAttr', 'irqfd-', 'routing'])
    expect(g.offload.backendNotifyFd(port)).toBe(null)
    expect(notifyFd?.closed).toBe(true)
  })

  it('backend eventfds are watched: sends and notifications act on the next turn of the loop', async () => {
    const turn = () => new Promise((r) => setTimeout(r, 20))
    // Kernel delivery: the guest's sends the kernel took reach the handler with no poll.
    const k = setup()
    k.offload.setSharedInfo(0x10000)
    const kport = k.engine.backendAllocUnbound(0)
    const heard: number[] = []
    k.offload.backendBind(kport, (p) => heard.push(p))
    k.offload.backendSendFd(kport)?.write(1)
    k.offload.backendSendFd(kport)?.write(1)
    expect(heard).toEqual([])
    await turn()
    expect(heard).toEqual([kport]) // two sends before the loop turned: one event
    // User delivery: a device's irqfd write raises the port with no poll.
    const u = setup(abi.KVM_XEN_HVM_CONFIG_SHARED_INFO)
    u.offload.setSharedInfo(0x10000)
    u.offload.setVcpuInfo(0, 0x10000)
    const uport = u.engine.backendAllocUnbound()
    u.offload.backendBind(uport, () => {})
    u.offload.backendNotifyFd(uport)?.write(1)
    expect(u.engine.portInfo(uport).pending).toBe(false)
    await turn()
    expect(u.engine.portInfo(uport).pending).toBe(true)
    // A handler that throws never reaches the loop (vitest fails on an uncaught error), and the
    // watch goes on; a closed port is no longer watched.
    const e = setup()
    e.offload.setSharedInfo(0x10000)
    const eport = e.engine.backendAllocUnbound(0)
    let sends = 0
    e.offload.backendBind(eport, () => {
      if (++sends === 1) throw new Error('backend bug')
    })
    const sendFd = e.offload.backendSendFd(eport)
    sendFd?.write(1)
    await turn()
    sendFd?.write(1)
    await turn()
    expect(sends).toBe(2)
    for (const g of [k, u, e]) g.offload.close()
    expect(sendFd?.watching).toBe(false)
    expect(sendFd?.closed).toBe(true)
  })

  it('refuses a vCPU list that does not match the engine', () => {
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x1000) }])
    const engine = new EvtchnEngine({ memory, vcpus: 2, notify: () => {} })
    expect(
      () =>
        new KvmEvtchn({
          engine,
          vm: new VmDouble() as unknown as Vm,
          vcpus: new VcpusDouble(1),
        }),
    ).toThrow(EvtchnError)
  })
})
