// Test fixture for the PV backends: a real event channel engine over a small guest RAM, with a
// stand-in for the kernel offload (userspace delivery: the offload's backend calls are the
// engine's), and the guest side of a ring page.
import { GuestMemory } from '@tsvmm/guest-memory'
import { EvtchnEngine, monotonicClock } from '@tsvmm/xen-evtchn'
import type { KvmEvtchn } from '@tsvmm/xen-evtchn/kvm'

export const RAM = 4 * 1048576
export const SHINFO = 0x100000

/** An engine with shared_info mapped and the offload's backend API over it. */
export function pvFixture() {
  const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(RAM) }])
  const upcalls: number[] = []
  const engine = new EvtchnEngine({
    memory,
    vcpus: 1,
    longMode: true,
    notify: (v) => upcalls.push(v),
    clock: monotonicClock(),
    domid: 1,
  })
  engine.setSharedInfo(SHINFO)
  engine.setVcpuInfo(0, SHINFO)
  const evtchn = {
    engine,
    backendBind: (port: number, h: () => void) => engine.backendBind(port, h),
    backendNotify: (port: number) => engine.backendNotify(port),
    backendUnbind: (port: number) => engine.backendUnbind(port),
  } as unknown as KvmEvtchn
  /** Whether `port` is pending in the guest, and clears it (as the guest's upcall handler does). */
  const takePending = (port: number): boolean => {
    const pending = engine.portInfo(port).pending
    memory.testAndClearBit(SHINFO + 0x800, port) // shared_info.evtchn_pending
    return pending
  }
  return { memory, engine, evtchn, upcalls, takePending }
}
