// Differential test on real KVM: the same delivery sequences through the kernel (the offload's
// KVM_XEN_HVM_EVTCHN_SEND and irqfd XEN_EVTCHN routes) and through the userspace engine, with
// the same guest actions in between; the shared_info page (vcpu_infos included) must match byte
// for byte after every step, in 64- and 32-bit mode. EVTCHNOP_unmask too: the kernel side runs
// Xen's evtchn_2l_unmask rule with the kernel's delivery, not the engine's unmask.
import { GuestMemory } from '@tsvmm/guest-memory'
import { abi, Kvm, KvmError } from '@tsvmm/kvm-sys'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { EvtchnEngine } from '../src/index.js'
import { KvmEvtchn, sameThreadVcpus } from '../src/kvm.js'

const RAM = 0x100000
const SHINFO = 0x10000
const VCPUS = 4
const kvm = Kvm.open()
afterAll(() => kvm.close())

function xorshift(seed: number): () => number {
  let s = seed | 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return s >>> 0
  }
}

interface Side {
  memory: GuestMemory
  notified: number[]
}

function kernelSide(longMode: boolean) {
  const vm = kvm.createVm()
  const region = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: RAM })
  vm.createIrqchip()
  vm.xenHvmConfig({
    flags: abi.KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL | abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND,
    msr: 0x40000000,
  })
  const vcpus = Array.from({ length: VCPUS }, (_, i) => vm.createVcpu(i))
  const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(region.buffer) }])
  const notified: number[] = []
  const engine = new EvtchnEngine({
    memory,
    vcpus: VCPUS,
    longMode,
    notify: (v) => notified.push(v),
  })
  const offload = new KvmEvtchn({ engine, vm, vcpus: sameThreadVcpus(vcpus) })
  offload.setSharedInfo(SHINFO)
  for (let v = 0; v < VCPUS; v++) offload.setVcpuInfo(v, SHINFO + 64 * v)
  return { vm, memory, notified, engine, offload }
}

function userSide(longMode: boolean) {
  const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(new SharedArrayBuffer(RAM)) }])
  const notified: number[] = []
  const engine = new EvtchnEngine({
    memory,
    vcpus: VCPUS,
    longMode,
    notify: (v) => notified.push(v),
  })
  engine.setSharedInfo(SHINFO)
  for (let v = 0; v < VCPUS; v++) engine.setVcpuInfo(v, SHINFO + 64 * v)
  return { memory, notified, engine }
}

/** What a guest's upcall handler does on `vcpu`: take upcall and selector, clear the events. */
function consume(side: Side, longMode: boolean, vcpu: number): void {
  const { memory } = side
  const vi = SHINFO + 64 * vcpu
  const maskBase = SHINFO + (longMode ? 0xa00 : 0x880)
  const wordBits = longMode ? 64 : 32
  memory.writeU8(vi, 0)
  const sel = longMode
    ? BigInt(memory.atomicExchange32(vi + 8, 0)) |
      (BigInt(memory.atomicExchange32(vi + 12, 0)) << 32n)
    : BigInt(memory.atomicExchange32(vi + 4, 0))
  for (let w = 0; w < wordBits; w++) {
    if (!(sel & (1n << BigInt(w)))) continue
    for (let b = 0; b < wordBits; b++) {
      const port = w * wordBits + b
      if (!memory.testBit(maskBase, port)) memory.testAndClearBit(SHINFO + 0x800, port)
    }
  }
}

/**
 * Xen's evtchn_2l_unmask (xen/common/event_2l.c) on the kernel side: test-and-clear the mask bit;
 * only if it WAS set and the port is pending, raise it on the vCPU it is bound to. The raise
 * (selector bit, upcall_pending, notify) is the kernel's: the pending bit is taken back and
 * KVM_XEN_HVM_EVTCHN_SEND sets it again, which leaves memory as Xen's raise would.
 */
function kernelUnmask(
  k: ReturnType<typeof kernelSide>,
  longMode: boolean,
  port: number,
  vcpu: number,
): void {
  const maskBase = SHINFO + (longMode ? 0xa00 : 0x880)
  if (!k.memory.testAndClearBit(maskBase, port)) return
  if (!k.memory.testAndClearBit(SHINFO + 0x800, port)) return
  k.vm.xenEvtchnSend({ port, vcpu })
}

let wallclock: [number, number][] = []

/**
 * The shared_info page without the wall clock fields (wc_version, wc_sec, wc_nsec, wc_sec_hi):
 * the kernel writes those when shared_info is set (kvm_xen_shared_info_init), which is time
 * keeping, not event channels. Everything else must match.
 */
function page(side: Side): Uint8Array {
  const p = side.memory.read(SHINFO, 0x1000)
  for (const [at, len] of wallclock) p.fill(0, at, at + len)
  return p
}

async function settle(a: Side, b: Side): Promise<void> {
  // An irqfd delivery normally lands during the eventfd write; if the kernel had to defer it to
  // its workqueue, wait for it (bounded) before comparing.
  for (let i = 0; i < 200 && !equal(page(a), page(b)); i++)
    await new Promise((r) => setTimeout(r, 5))
}

function equal(x: Uint8Array, y: Uint8Array): boolean {
  return x.length === y.length && x.every((v, i) => v === y[i])
}

function firstDiff(x: Uint8Array, y: Uint8Array): string {
  const i = x.findIndex((v, k) => v !== y[k])
  return i < 0 ? 'none' : `offset 0x${i.toString(16)}: kernel ${x[i]} engine ${y[i]}`
}

describe.each([
  ['64-bit', true],
  ['32-bit', false],
] as const)('kernel vs engine, %s guest', (_, longMode) => {
  const limit = longMode ? 4096 : 1024
  beforeEach(() => {
    wallclock = longMode
      ? [[0xc00, 16]]
      : [
          [0x900, 12],
          [0x924, 4],
        ]
  })

  it('the kernel offload is available and configured', () => {
    const k = kernelSide(longMode)
    expect(k.offload.inKernel).toBe(true)
    expect(k.vm.xenHvmGetAttr('LONG_MODE').longMode).toBe(longMode)
    expect(k.vm.xenHvmGetAttr('SHARED_INFO').gfn).toBe(BigInt(SHINFO / 4096))
    k.offload.close()
    k.vm.close()
  })

  it('refuse the same deliveries (port 0, port at the limit) and write nothing', () => {
    const k = kernelSide(longMode)
    const u = userSide(longMode)
    for (const port of [0, limit, limit + 5]) {
      let kernelCode = 0
      try {
        k.vm.xenEvtchnSend({ port, vcpu: 0 })
      } catch (e) {
        expect(e).toBeInstanceOf(KvmError)
        kernelCode = (e as KvmError).errno
      }
      expect(kernelCode, `port ${port}`).toBe(-22)
      expect(u.engine.setPending(port, 0)).toBe(-22)
    }
    expect(firstDiff(page(k), page(u))).toBe('none')
    expect(page(u).every((b) => b === 0)).toBe(true)
    k.offload.close()
    k.vm.close()
  })

  it('leave guest memory byte-identical over random delivery sequences', async () => {
    const k = kernelSide(longMode)
    const u = userSide(longMode)
    const rand = xorshift(longMode ? 0xbeef : 0xcafe)
    // Backend ports on both sides: the kernel side gets XEN_EVTCHN routes with irqfds.
    const backends: number[] = []
    for (let i = 0; i < 6; i++) {
      const vcpu = i % VCPUS
      const pk = k.engine.backendAllocUnbound(vcpu)
      const pu = u.engine.backendAllocUnbound(vcpu)
      expect(pk).toBe(pu)
      expect(k.offload.backendBind(pk, () => {})).toBe(0)
      expect(u.engine.backendBind(pu, () => {})).toBe(0)
      expect(k.offload.backendNotifyFd(pk)).not.toBe(null)
      backends.push(pk)
    }
    // A few hot ports so deliveries coalesce, mask and share selector words.
    const hot = Array.from({ length: 40 }, () => 1 + (rand() % (limit - 1)))
    const kinds = { send: 0, irqfd: 0, mask: 0, unmask: 0, consume: 0 }
    for (let step = 0; step < 1500; step++) {
      const r = rand()
      const op = r % 10
      if (op < 4) {
        const port = hot[(r >>> 4) % hot.length] as number
        const vcpu = (r >>> 12) % VCPUS
        expect(k.offload.setPending(port, vcpu)).toBe(1)
        const rc = u.engine.setPending(port, vcpu)
        expect([1, 0, -107]).toContain(rc)
        kinds.send++
      } else if (op < 6) {
        const port = backends[(r >>> 4) % backends.length] as number
        k.offload.backendNotifyFd(port)?.write(1)
        u.engine.backendNotify(port)
        kinds.irqfd++
      } else if (op < 7) {
        const port = hot[(r >>> 4) % hot.length] as number
        for (const s of [k, u]) s.memory.testAndSetBit(SHINFO + (longMode ? 0xa00 : 0x880), port)
        kinds.mask++
      } else if (op < 8) {
        // The guest's EVTCHNOP_unmask: the engine serves it on the user side; the kernel side
        // follows Xen's evtchn_2l_unmask with the kernel doing the raise (KVM has no unmask of
        // its own), so the two sides share no unmask code.
        const i = (r >>> 4) % (hot.length + backends.length)
        const port = [...hot, ...backends][i] as number
        const boundTo = i < hot.length ? 0 : (i - hot.length) % VCPUS // hot ports are closed: vCPU 0
        kernelUnmask(k, longMode, port, boundTo)
        u.memory.writeU32(0x20000, port)
        expect(u.engine.hypercall(9, 0x20000, (r >>> 12) % VCPUS)).toBe(0)
        kinds.unmask++
      } else {
        const vcpu = (r >>> 4) % VCPUS
        consume(k, longMode, vcpu)
        consume(u, longMode, vcpu)
        kinds.consume++
      }
      await settle(k, u)
      const a = page(k)
      const b = page(u)
      if (!equal(a, b)) expect.fail(`step ${step} (${op}): ${firstDiff(a, b)}`)
    }
    // Every kind of step ran, and the sequence really delivered events.
    for (const n of Object.values(kinds)) expect(n).toBeGreaterThan(50)
    expect(u.notified.length).toBeGreaterThan(50)
    k.offload.close()
    k.vm.close()
  })

  it('a backend port moved by bind_vcpu is raised on the new vCPU through its irqfd route', async () => {
    const k = kernelSide(longMode)
    const u = userSide(longMode)
    const port = k.engine.backendAllocUnbound(0)
    u.engine.backendAllocUnbound(0)
    k.offload.backendBind(port, () => {})
    u.engine.backendBind(port, () => {})
    for (const s of [k, u]) {
      s.memory.writeU32(0x20000, port)
      s.memory.writeU32(0x20004, 3)
    }
    expect(k.engine.hypercall(8, 0x20000, 0)).toBe(0) // EVTCHNOP_bind_vcpu
    expect(u.engine.hypercall(8, 0x20000, 0)).toBe(0)
    k.offload.backendNotifyFd(port)?.write(1)
    u.engine.backendNotify(port)
    await settle(k, u)
    expect(firstDiff(page(k), page(u))).toBe('none')
    expect(u.memory.readU8(SHINFO + 3 * 64)).toBe(1)
    k.offload.close()
    k.vm.close()
  })
})
