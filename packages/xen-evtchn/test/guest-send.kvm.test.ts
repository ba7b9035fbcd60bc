// A real guest's EVTCHNOP_send on real KVM with the offload: IPI ports are handled in the kernel
// (no exit to the VMM), backend ports signal the backend's eventfd, and other ports exit to the
// VMM where the engine serves them. The guest runs in real mode: set up the port number at 0x3000,
// then `mov eax, 32; mov ebx, EVTCHNOP_send; mov ecx, 0x3000; vmmcall; out 0x3f8, al; jmp start`.
import { GuestMemory } from '@tsvmm/guest-memory'
import { abi, Kvm, type Vcpu } from '@tsvmm/kvm-sys'
import { afterAll, describe, expect, it } from 'vitest'
import { DOMID_SELF, EVTCHNOP, EvtchnEngine } from '../src/index.js'
import { KvmEvtchn, sameThreadVcpus } from '../src/kvm.js'

const RAM = 0x100000
const SHINFO = 0x10000
const ARG = 0x2000
const SEND_ARG = 0x3000
const kvm = Kvm.open()
afterAll(() => kvm.close())

// prettier-ignore
const GUEST = [
  0x66,
  0xb8,
  0x20,
  0x00,
  0x00,
  0x00, // mov eax, __HYPERVISOR_event_channel_op
  0x66,
  0xbb,
  0x04,
  0x00,
  0x00,
  0x00, // mov ebx, EVTCHNOP_send
  0x66,
  0xb9,
  0x00,
  0x30,
  0x00,
  0x00, // mov ecx, 0x3000 (struct evtchn_send)
  0x0f,
  0x01,
  0xd9, // vmmcall
  0xba,
  0xf8,
  0x03, // mov dx, 0x3f8
  0xee, // out dx, al
  0xeb,
  0xe5, // jmp 0x1000
]

function enterRealMode(vcpu: Vcpu): void {
  const s = vcpu.getSregs()
  for (const n of ['cs', 'ds', 'es', 'ss', 'fs', 'gs'] as const)
    s[n] = { ...s[n], base: 0n, selector: 0 }
  vcpu.setSregs(s)
  vcpu.setRegs({ ...vcpu.getRegs(), rip: 0x1000n, rflags: 0x2n, rsp: 0x7000n })
}

function setup() {
  const vm = kvm.createVm()
  const region = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: RAM })
  vm.createIrqchip()
  vm.xenHvmConfig({
    flags: abi.KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL | abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND,
    msr: 0x40000000,
  })
  const vcpu = vm.createVcpu(0)
  const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(region.buffer) }])
  memory.write(0x1000, new Uint8Array(GUEST))
  enterRealMode(vcpu)
  const engine = new EvtchnEngine({ memory, vcpus: 1, longMode: false, notify: () => {} })
  const offload = new KvmEvtchn({ engine, vm, vcpus: sameThreadVcpus([vcpu]) })
  offload.setSharedInfo(SHINFO)
  offload.setVcpuInfo(0, SHINFO)
  const hypercalls: number[] = []
  /** Runs the guest's send on `port` until it reports back on port 0x3f8. */
  const guestSend = (port: number) => {
    memory.writeU32(SEND_ARG, port)
    for (;;) {
      const reason = vcpu.run()
      if (reason === abi.KVM_EXIT_IO && vcpu.kvmRun.io.port === 0x3f8) return
      if (reason !== abi.KVM_EXIT_XEN) throw new Error(`unexpected exit ${reason}`)
      // Not handled by the kernel: the VMM's Xen hypercall dispatch (32-bit ABI: ebx, ecx).
      const x = vcpu.kvmRun.xen
      expect(x.input).toBe(32n)
      hypercalls.push(Number(x.params[0]))
      vcpu.kvmRun.xenHcallResult = BigInt.asUintN(
        64,
        BigInt(engine.hypercall(x.params[0], x.params[1], 0)),
      )
    }
  }
  /** A VMM-side EVTCHNOP call with its argument struct at ARG. */
  const op = (cmd: number, words: number[]) => {
    words.forEach((w, i) => {
      memory.writeU32(ARG + 4 * i, w)
    })
    return engine.hypercall(cmd, ARG, 0)
  }
  return { vm, vcpu, memory, engine, offload, guestSend, hypercalls, op }
}

describe('guest sends with the kernel offload', () => {
  it('IPI port: handled in the kernel, no exit; the event lands as the engine would put it', () => {
    const g = setup()
    expect(g.offload.inKernel).toBe(true)
    expect(g.op(EVTCHNOP.bind_ipi, [0, 0])).toBe(0)
    const port = g.memory.readU32(ARG + 4)
    g.guestSend(port)
    expect(g.hypercalls).toEqual([])
    expect(g.engine.portInfo(port).pending).toBe(true)
    expect(g.memory.readU32(SHINFO + 4)).toBe(1 << (port >> 5)) // compat selector
    expect(g.memory.readU8(SHINFO)).toBe(1)
    // Closed: the kernel no longer handles it; the send exits and the engine says -EINVAL.
    expect(g.op(EVTCHNOP.close, [port])).toBe(0)
    g.guestSend(port)
    expect(g.hypercalls).toEqual([EVTCHNOP.send])
    expect(g.vcpu.getRegs().rax & 0xffffffffn).toBe(BigInt.asUintN(32, -22n))
    g.offload.close()
    g.vm.close()
  })

  it('backend port: the kernel signals the eventfd; pollBackends calls the handler', () => {
    const g = setup()
    const port = g.engine.backendAllocUnbound()
    const heard: number[] = []
    expect(g.offload.backendBind(port, (p) => heard.push(p))).toBe(0)
    expect(g.offload.pollBackends()).toBe(0)
    g.guestSend(port)
    expect(g.hypercalls).toEqual([])
    expect(g.offload.pollBackends()).toBe(1)
    expect(heard).toEqual([port])
    expect(g.offload.pollBackends()).toBe(0)
    // The device side raises the port through its irqfd route.
    g.offload.backendNotifyFd(port)?.write(1)
    expect(g.engine.portInfo(port).pending).toBe(true)
    g.offload.close()
    g.vm.close()
  })

  it("backend port: the guest's send reaches the handler on the loop's next turn, unpolled", async () => {
    const g = setup()
    const port = g.engine.backendAllocUnbound()
    const heard = new Promise<number>((resolve) => g.offload.backendBind(port, resolve))
    g.guestSend(port)
    expect(g.hypercalls).toEqual([]) // the kernel took it
    expect(await heard).toBe(port)
    g.offload.close()
    g.vm.close()
  })

  it('loopback interdomain port: handled in the kernel, no exit; the peer is raised', () => {
    const g = setup()
    expect(g.op(EVTCHNOP.alloc_unbound, [DOMID_SELF | (DOMID_SELF << 16), 0])).toBe(0)
    const a = g.memory.readU32(ARG + 4)
    expect(g.op(EVTCHNOP.bind_interdomain, [DOMID_SELF, a, 0])).toBe(0)
    const b = g.memory.readU32(ARG + 8)
    g.memory.writeU8(SHINFO + 0x800 + (b >> 3), 0) // drop Xen's conservative event on b
    g.guestSend(b)
    expect(g.hypercalls).toEqual([])
    expect(g.vcpu.getRegs().rax & 0xffffffffn).toBe(0n)
    expect(g.engine.portInfo(a).pending).toBe(true)
    // The peer closes: b is unbound again, the kernel lets go of it, its send exits and is dropped.
    expect(g.op(EVTCHNOP.close, [a])).toBe(0)
    g.guestSend(b)
    expect(g.hypercalls).toEqual([EVTCHNOP.send])
    expect(g.vcpu.getRegs().rax & 0xffffffffn).toBe(0n)
    g.offload.close()
    g.vm.close()
  })
})
