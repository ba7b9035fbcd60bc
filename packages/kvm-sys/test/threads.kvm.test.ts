// vCPUs on their own threads (worker_threads) on real KVM: two running at once, one kicked from
// the main thread, closing the VM under a running vCPU, one runner per vCPU.
import { Worker } from 'node:worker_threads'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import * as abi from '../src/abi.js'
import { Kvm, type Vcpu, Vcpu as VcpuClass, type Vm } from '../src/index.js'
import { enterRealMode } from './helpers/guest.js'

const kvm = Kvm.open()
afterAll(() => kvm.close())

let vm: Vm
const workers: Worker[] = []
afterEach(async () => {
  vm?.close()
  await Promise.all(workers.splice(0).map((w) => w.terminate()))
})

interface Reply {
  attached?: boolean
  running?: boolean
  reason?: number
  error?: string
  syscall?: string
}

/** A worker running `vcpu`, with a queue of its replies. */
function runner(vcpu: Vcpu, mode: 'once' | 'loop') {
  const w = new Worker(new URL('./fixtures/vcpu-worker.mjs', import.meta.url), {
    workerData: { vm: vm.handle, vcpu: vcpu.handle, mode },
  })
  workers.push(w)
  const queue: Reply[] = []
  const waiting: ((r: Reply) => void)[] = []
  w.on('message', (m: Reply) => {
    const next = waiting.shift()
    if (next) next(m)
    else queue.push(m)
  })
  w.on('error', (e) => {
    throw e
  })
  return {
    worker: w,
    next: (): Promise<Reply> =>
      new Promise((resolve) => {
        const m = queue.shift()
        if (m) resolve(m)
        else waiting.push(resolve)
      }),
  }
}

/** Resolves once `cond` holds (polled; the main thread stays free). */
async function until(cond: () => boolean, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached')
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A VM whose vCPUs spin on `inc dword [0x3000 + 16 * id]` (real mode, never exiting). */
function spinningVm(n: number): { vcpus: Vcpu[]; counters: Uint32Array } {
  vm = kvm.createVm()
  const ram = new Uint8Array(
    vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 }).buffer,
  )
  const vcpus: Vcpu[] = []
  for (let id = 0; id < n; id++) {
    const at = 0x3000 + 16 * id
    // l: inc dword [at]; jmp l
    ram.set([0x66, 0xff, 0x06, at & 0xff, at >> 8, 0xeb, 0xf9], 0x1000 + 0x100 * id)
    const vcpu = vm.createVcpu(id)
    enterRealMode(vcpu, 0x1000 + 0x100 * id)
    vcpus.push(vcpu)
  }
  return { vcpus, counters: new Uint32Array(ram.buffer, 0x3000, 4 * n) }
}

describe('vCPU threads', () => {
  it('two vCPUs run at once on their own threads; the main thread kicks one out', async () => {
    const { vcpus, counters } = spinningVm(2)
    const [v0, v1] = vcpus as [Vcpu, Vcpu]
    const r0 = runner(v0, 'once')
    const r1 = runner(v1, 'once')
    expect(await r0.next()).toEqual({ attached: true, regions: 1 })
    expect(await r1.next()).toEqual({ attached: true, regions: 1 })
    r0.worker.postMessage('run')
    r1.worker.postMessage('run')
    expect(await r0.next()).toEqual({ running: true })
    expect(await r1.next()).toEqual({ running: true })
    // Both counters move while both threads are inside KVM_RUN.
    const c0 = () => counters[0] ?? 0
    const c1 = () => counters[4] ?? 0
    await until(() => c0() > 10_000 && c1() > 10_000)

    v1.kick()
    expect(await r1.next()).toEqual({ reason: abi.KVM_EXIT_INTR })
    const stopped = c1()
    const base = c0()
    await until(() => c0() > base + 10_000) // vCPU 0 still runs
    expect(c1()).toBe(stopped) // vCPU 1 does not

    // Kicked vCPU 1 runs again when asked; then both are kicked out.
    r1.worker.postMessage('run')
    expect(await r1.next()).toEqual({ running: true })
    await until(() => c1() > stopped + 10_000)
    v0.kick()
    v1.kick()
    expect(await r0.next()).toEqual({ reason: abi.KVM_EXIT_INTR })
    expect(await r1.next()).toEqual({ reason: abi.KVM_EXIT_INTR })
  })

  it('a vCPU runs on one thread at a time (EBUSY for a second runner)', async () => {
    const { vcpus, counters } = spinningVm(1)
    const v0 = vcpus[0] as Vcpu
    const r0 = runner(v0, 'once')
    await r0.next()
    r0.worker.postMessage('run')
    await r0.next()
    await until(() => (counters[0] ?? 0) > 1000)
    expect(() => v0.run()).toThrow(expect.objectContaining({ code: 'EBUSY', syscall: 'KVM_RUN' }))
    v0.kick()
    expect(await r0.next()).toEqual({ reason: abi.KVM_EXIT_INTR })
  })

  it('closing the VM while a vCPU runs kicks it out; its next run throws EBADF', async () => {
    const { vcpus, counters } = spinningVm(1)
    const v0 = vcpus[0] as Vcpu
    const r0 = runner(v0, 'loop')
    await r0.next()
    expect(await r0.next()).toEqual({ running: true })
    await until(() => (counters[0] ?? 0) > 1000)
    vm.close() // returns once the worker's KVM_RUN has returned
    expect(counters.length).toBe(0) // this thread's view is detached
    expect(v0.closed).toBe(true)
    const replies = [await r0.next(), await r0.next()]
    expect(replies).toEqual([{ reason: abi.KVM_EXIT_INTR }, { error: 'EBADF', syscall: 'KVM_RUN' }])
  })

  it('an unknown or closed handle does not attach', () => {
    const { vcpus } = spinningVm(1)
    const handle = (vcpus[0] as Vcpu).handle
    expect(VcpuClass.fromHandle(handle).id).toBe(0)
    vm.close()
    expect(() => VcpuClass.fromHandle(handle)).toThrow(expect.objectContaining({ code: 'EBADF' }))
    expect(() => VcpuClass.fromHandle(0x7fffffff)).toThrow(
      expect.objectContaining({ code: 'EBADF' }),
    )
  })
})
