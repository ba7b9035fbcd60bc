// A vCPU's own thread (a worker): KVM_RUN in a loop. Port I/O of the guest protocol (console,
// results, the bench port) is handled right here; hypercalls and backend requests go to the
// main thread as calls, and this thread sleeps until the answer comes. Any exit the VMM cannot
// go on from (triple fault, internal error) ends the loop with a message saying why.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads'
import { GuestMemory } from '@tsvmm/guest-memory'
import { abi, isKvmError, Vcpu, Vm } from '@tsvmm/kvm-sys'
import { GUEST_PORT, readCheckResult } from '../devices/guest-protocol.js'
import { platformBus } from '../devices/platform.js'
import {
  CALL,
  CALL_STATE,
  requestsWord,
  SHARED,
  type VcpuMessage,
  type VcpuRequest,
  type VcpuStop,
  type VcpuWorkerData,
} from './channel.js'

const data = workerData as VcpuWorkerData
const port = parentPort
if (port === null) throw new Error('vcpu-thread runs as a worker')

const post = (m: VcpuMessage) => port.postMessage(m)
const shared = new Int32Array(data.shared)
const call = new Int32Array(data.call)
const answer = new BigInt64Array(data.call)
const index = data.index
const requestsAt = requestsWord(data.vcpus, index)

function run(): VcpuStop {
  const vm = Vm.fromHandle(data.vmHandle)
  const vcpu = Vcpu.fromHandle(data.vcpuHandle)
  const memory = new GuestMemory(
    vm
      .memoryRegions()
      .map((r) => ({ gpa: Number(r.guestPhysAddr), bytes: new Uint8Array(r.buffer) })),
  )
  const kvmRun = vcpu.kvmRun
  const view = kvmRun.view
  const bytes = kvmRun.bytes
  const IO = abi.kvm_run.io
  // The PC platform (a Linux guest): its devices answer their ports on this thread.
  let platformEvent: 'poweroff' | 'reset' | undefined
  const bus =
    data.platform === undefined
      ? undefined
      : platformBus(data.platform, {
          setIrq: (irq, level) => vm.irqLine(irq, level),
          powerOff: () => {
            platformEvent ??= 'poweroff'
          },
          reset: () => {
            platformEvent ??= 'reset'
          },
        })
  let consoleBytes: number[] = []
  const flushConsole = () => {
    if (consoleBytes.length > 0) {
      post({ t: 'console', vcpu: index, bytes: Uint8Array.from(consoleBytes) })
      consoleBytes = []
    }
  }
  const rip = () => {
    try {
      return vcpu.getRegs().rip
    } catch {
      return 0n
    }
  }

  const mpState = () => {
    try {
      return vcpu.getMpState()
    } catch {
      return -1
    }
  }

  /** Posts a call and waits for the main thread's answer; false when the VM stops instead. */
  const callMain = (m: VcpuMessage): boolean => {
    flushConsole()
    Atomics.store(call, CALL.STATE, CALL_STATE.WAITING)
    post(m)
    // A kick signal (a vCPU request racing with this call) can end the wait early: only the
    // state word says whether the answer is there.
    while (Atomics.load(call, CALL.STATE) === CALL_STATE.WAITING) {
      if (Atomics.load(shared, SHARED.STOP) !== 0) return false
      Atomics.wait(call, CALL.STATE, CALL_STATE.WAITING, 1000)
    }
    return Atomics.load(call, CALL.STATE) === CALL_STATE.RESUME
  }

  /** Runs what the main thread queued for this vCPU (it cannot: KVM_RUN holds the vCPU mutex). */
  const serveRequests = () => {
    Atomics.store(shared, requestsAt, 0)
    for (
      let m = receiveMessageOnPort(data.requests);
      m !== undefined;
      m = receiveMessageOnPort(data.requests)
    ) {
      const req = m.message as VcpuRequest
      try {
        if (req.t === 'attr') vcpu.xenVcpuSetAttr(req.attr)
      } catch (e) {
        post({ t: 'log', vcpu: index, message: `${req.t} ${req.attr.type}: ${String(e)}` })
      }
    }
  }

  post({ t: 'ready', vcpu: index })
  // The hot path: plain (not Atomics) loads and stores of the shared words. Only this thread
  // writes its exit counter; the flags it polls are set before the kick that makes it look.
  const exitsAt = SHARED.EXITS + index
  let exits = 0
  for (;;) {
    // Where the guest was (with its mp_state: 3 is HALTED) says where a hung guest hangs.
    if (shared[SHARED.STOP] !== 0)
      return {
        kind: 'stopped',
        why: `stop flag at rip 0x${rip().toString(16)}, mp_state ${mpState()}`,
      }
    if (shared[requestsAt] !== 0) serveRequests()
    let reason: number
    try {
      reason = vcpu.run()
    } catch (e) {
      // An AP waiting for SIPI (mp_state UNINITIALIZED) that KVM woke without starting it, e.g.
      // on INIT, returns EAGAIN: go back in, as QEMU's kvm_cpu_exec does.
      if (isKvmError(e) && e.code === 'EAGAIN') continue
      throw e
    }
    shared[exitsAt] = ++exits
    switch (reason) {
      case abi.KVM_EXIT_IO: {
        const out = view.getUint8(IO.direction) === abi.KVM_EXIT_IO_OUT
        const p = view.getUint16(IO.port, true)
        // The bench port's value is ignored: done before decoding anything else.
        if (p === GUEST_PORT.BENCH && out) break
        const size = view.getUint8(IO.size)
        const count = view.getUint32(IO.count, true)
        // data_offset is a u64 the kernel sets inside the mapping: its low word is the offset.
        const offset =
          view.getUint32(IO.data_offset, true) + view.getUint32(IO.data_offset + 4, true) * 2 ** 32
        const length = size * count
        if (offset + length > bytes.length)
          return { kind: 'error', message: 'kvm_run I/O data out of range' }
        if (bus?.claims(p)) {
          const sz = size as 1 | 2 | 4
          for (let i = 0; i < count; i++) {
            const at = offset + i * size
            if (out) {
              let v = 0
              for (let b = 0; b < size; b++) v |= (bytes[at + b] ?? 0) << (8 * b)
              bus.write(p, sz, v >>> 0)
            } else {
              const v = bus.read(p, sz)
              for (let b = 0; b < size; b++) bytes[at + b] = (v >>> (8 * b)) & 0xff
            }
          }
          if (platformEvent !== undefined) {
            flushConsole()
            post({ t: 'platform', vcpu: index, event: platformEvent })
            return { kind: 'stopped', why: platformEvent }
          }
          break
        }
        if (!out) {
          // Nothing is behind any port: reads float high, as on an empty ISA bus.
          bytes.fill(0xff, offset, offset + length)
          break
        }
        if (p === GUEST_PORT.CONSOLE) {
          for (let i = 0; i < length; i += size) consoleBytes.push(bytes[offset + i] ?? 0)
          if (consoleBytes.includes(0x0a) || consoleBytes.length >= 256) flushConsole()
          break
        }
        if ((p === GUEST_PORT.RESULT || p === GUEST_PORT.BACKEND) && size === 4 && count === 1) {
          const gpa = view.getUint32(offset, true)
          if (p === GUEST_PORT.RESULT) {
            flushConsole()
            const r = readCheckResult(memory, gpa)
            if (typeof r === 'string') post({ t: 'protocol-error', vcpu: index, message: r })
            else post({ t: 'result', vcpu: index, result: r })
          } else if (!callMain({ t: 'backend', vcpu: index, gpa })) {
            return { kind: 'stopped', why: 'backend call' }
          }
          break
        }
        if (data.debug)
          post({ t: 'unhandled', vcpu: index, what: `OUT port 0x${p.toString(16)} size ${size}` })
        break
      }
      case abi.KVM_EXIT_XEN: {
        const x = kvmRun.xen
        if (x.type !== abi.KVM_EXIT_XEN_HCALL)
          return { kind: 'error', message: `KVM_EXIT_XEN type ${x.type}` }
        const s = vcpu.getSregs()
        const ok = callMain({
          t: 'hypercall',
          vcpu: index,
          input: x.input,
          params: [...x.params],
          longMode: x.longmode !== 0,
          cpl: x.cpl,
          paging: { cr0: s.cr0, cr3: s.cr3, cr4: s.cr4, efer: s.efer },
        })
        if (!ok)
          return {
            kind: 'stopped',
            why: `hypercall ${x.input} call state ${Atomics.load(call, CALL.STATE)} stop ${Atomics.load(shared, SHARED.STOP)}`,
          }
        kvmRun.xenHcallResult = BigInt.asUintN(64, answer[CALL.ANSWER] ?? 0n)
        break
      }
      case abi.KVM_EXIT_MMIO: {
        const m = kvmRun.mmio
        if (!m.isWrite) m.data.fill(0xff, 0, m.len)
        if (data.debug)
          post({
            t: 'unhandled',
            vcpu: index,
            what: `MMIO ${m.isWrite ? 'write' : 'read'} 0x${m.physAddr.toString(16)}`,
          })
        break
      }
      case abi.KVM_EXIT_INTR:
        break
      case abi.KVM_EXIT_SHUTDOWN:
        flushConsole()
        return { kind: 'triple-fault', rip: rip() }
      case abi.KVM_EXIT_HLT:
        flushConsole()
        return { kind: 'hlt', rip: rip() }
      case abi.KVM_EXIT_INTERNAL_ERROR:
        flushConsole()
        return { kind: 'internal-error', suberror: kvmRun.internalError.suberror, rip: rip() }
      case abi.KVM_EXIT_FAIL_ENTRY:
        flushConsole()
        return { kind: 'fail-entry', reason: kvmRun.failEntry.hardwareEntryFailureReason }
      case abi.KVM_EXIT_SYSTEM_EVENT:
        flushConsole()
        return { kind: 'system-event', type: view.getUint32(abi.kvm_run.system_event.type, true) }
      case abi.KVM_EXIT_IOAPIC_EOI:
        break
      default:
        flushConsole()
        return { kind: 'error', message: `unexpected KVM exit ${reason}` }
    }
  }
}

let stop: VcpuStop
try {
  stop = run()
} catch (e) {
  stop = { kind: 'error', message: e instanceof Error ? e.message : String(e) }
}
post({ t: 'exit', vcpu: index, stop })
