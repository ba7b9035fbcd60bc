// The 2-level event channel delivery rules: set_pending, unmask and the selector/upcall cascade,
// done on guest memory with Atomics on 32-bit lanes. Follows Xen's evtchn_2l_set_pending and
// evtchn_2l_unmask (xen/common/event_2l.c) and the kernel's kvm_xen_set_evtchn_fast
// (arch/x86/kvm/xen.c) for return codes and the unregistered-vcpu_info shadow.
import type { GuestMemory } from '@tsvmm/guest-memory'
import { EvtchnError, XenErrno } from './errno.js'
import {
  geometry,
  PAGE_SIZE,
  SHINFO_EVTCHN_PENDING,
  type TwoLevelGeometry,
  VCPU_INFO_ALIGN,
  VCPU_INFO_SIZE,
} from './layout.js'

/** Called when a vCPU needs its upcall: the VMM injects the vector and kicks the vCPU. */
export type Notify = (vcpu: number) => void

const EINVAL = -XenErrno.EINVAL
const ENOTCONN = -XenErrno.ENOTCONN
const EFAULT = -XenErrno.EFAULT
const PENDING_LANE = SHINFO_EVTCHN_PENDING >> 2

/**
 * Delivery of 2-level events into one guest's shared_info and vcpu_info pages.
 *
 * All guest-memory read-modify-writes are atomic (`Atomics` on the page's lanes), so the guest
 * and other threads may write the same words concurrently. The hot path ({@link setPending})
 * does no lookup and no allocation: lane views are made once when a page is configured.
 */
export class TwoLevel {
  readonly #memory: GuestMemory
  readonly #notify: Notify
  readonly #onError: (e: unknown) => void
  readonly #vcpus: number
  #geometry: TwoLevelGeometry
  #portLimit: number
  #maskLane: number
  #selectorShift: number
  #selectorLane: number
  #shinfo: Int32Array | null = null
  #shinfoGpa: number | null = null
  readonly #vcpuInfo: (Int32Array | null)[]
  readonly #vcpuInfoGpa: (number | null)[]
  // Selector bits for vCPUs without a vcpu_info yet: two lanes (one 64-bit word) per vCPU.
  readonly #shadow: Int32Array

  constructor(
    memory: GuestMemory,
    vcpus: number,
    longMode: boolean,
    notify: Notify,
    onError: (e: unknown) => void,
  ) {
    this.#memory = memory
    this.#vcpus = vcpus
    this.#notify = notify
    this.#onError = onError
    this.#vcpuInfo = new Array<Int32Array | null>(vcpus).fill(null)
    this.#vcpuInfoGpa = new Array<number | null>(vcpus).fill(null)
    this.#shadow = new Int32Array(vcpus * 2)
    this.#geometry = geometry(longMode)
    this.#portLimit = 0
    this.#maskLane = 0
    this.#selectorShift = 0
    this.#selectorLane = 0
    this.#applyGeometry()
  }

  /** Number of vCPUs (valid vCPU indexes are 0 .. vcpus - 1). */
  get vcpus(): number {
    return this.#vcpus
  }

  /** The geometry of the current guest width. */
  get geometry(): TwoLevelGeometry {
    return this.#geometry
  }

  /** GPA of shared_info, or null. */
  get sharedInfo(): number | null {
    return this.#shinfoGpa
  }

  /** GPA of a vCPU's vcpu_info, or null if none is registered. */
  vcpuInfo(vcpu: number): number | null {
    return this.#vcpuInfoGpa[vcpu] ?? null
  }

  /** The selector bits held for a vCPU with no vcpu_info, as [low 32, high 32]. */
  shadowSelector(vcpu: number): [number, number] {
    return [(this.#shadow[vcpu * 2] ?? 0) >>> 0, (this.#shadow[vcpu * 2 + 1] ?? 0) >>> 0]
  }

  /** Whether `port` is a valid 2-level port number in the current mode (1 .. limit - 1). */
  validPort(port: number): boolean {
    // typeof first: `| 0` on a bigint throws instead of answering.
    return typeof port === 'number' && port > 0 && port < this.#portLimit && (port | 0) === port
  }

  /** Whether `vcpu` is a known vCPU index. */
  validVcpu(vcpu: number): boolean {
    return typeof vcpu === 'number' && vcpu >= 0 && vcpu < this.#vcpus && (vcpu | 0) === vcpu
  }

  /**
   * Switches between 64-bit and 32-bit geometry (port limit, mask base, selector width). Shadow
   * selectors are converted so every pending word stays covered.
   */
  setLongMode(on: boolean): void {
    if (typeof on !== 'boolean')
      throw new EvtchnError('EINVAL', 'setLongMode', 'long mode must be true or false')
    if (on === this.#geometry.longMode) return
    for (let v = 0; v < this.#vcpus; v++) {
      const lo = this.#shadow[v * 2] as number
      if (on) {
        // 32-bit word k holds ports 32k..32k+31: in 64-bit word k >> 1.
        let sel = 0
        for (let k = 0; k < 32; k++) if (lo & (1 << k)) sel |= 1 << (k >> 1)
        this.#shadow[v * 2] = sel
      } else {
        // 64-bit word k holds 32-bit words 2k and 2k + 1. Words from 16 up hold ports at or
        // above the compat limit (1024), which no longer exist.
        let sel = 0
        for (let k = 0; k < 16; k++) if (lo & (1 << k)) sel |= 3 << (2 * k)
        this.#shadow[v * 2] = sel
      }
      this.#shadow[v * 2 + 1] = 0
    }
    this.#geometry = geometry(on)
    this.#applyGeometry()
  }

  /**
   * Points delivery at the shared_info page at `gpa` (page-aligned, inside guest RAM), or stops
   * delivery with null. Throws {@link EvtchnError} (`EINVAL`, `EFAULT`) for a bad address.
   */
  setSharedInfo(gpa: number | null): void {
    if (gpa === null) {
      this.#shinfo = null
      this.#shinfoGpa = null
      return
    }
    if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % PAGE_SIZE !== 0)
      throw new EvtchnError('EINVAL', 'setSharedInfo', 'shared_info must be a page-aligned GPA')
    this.#shinfo = this.#lanes(gpa, PAGE_SIZE, 'setSharedInfo', 'shared_info page')
    this.#shinfoGpa = gpa
  }

  /**
   * Registers vCPU `vcpu`'s vcpu_info at `gpa` (8-byte aligned, not crossing a page, in guest
   * RAM), or unregisters it with null. Selector bits kept while it had none are ORed in, and the
   * upcall raised once (kvm_xen_inject_pending_events). Throws {@link EvtchnError}.
   */
  setVcpuInfo(vcpu: number, gpa: number | null): void {
    if (!this.validVcpu(vcpu))
      throw new EvtchnError('EINVAL', 'setVcpuInfo', `vCPU ${vcpu} does not exist`)
    if (gpa === null) {
      this.#vcpuInfo[vcpu] = null
      this.#vcpuInfoGpa[vcpu] = null
      return
    }
    const lanes = this.#vcpuInfoLanes(gpa, 'setVcpuInfo')
    this.#vcpuInfo[vcpu] = lanes
    this.#vcpuInfoGpa[vcpu] = gpa
    const lo = this.#shadow[vcpu * 2] as number
    const hi = this.#shadow[vcpu * 2 + 1] as number
    if ((lo | hi) === 0) return
    this.#shadow[vcpu * 2] = 0
    this.#shadow[vcpu * 2 + 1] = 0
    Atomics.or(lanes, this.#selectorLane, lo)
    if (this.#geometry.wordBits === 64) Atomics.or(lanes, this.#selectorLane + 1, hi)
    Atomics.or(lanes, 0, 1)
    this.#callNotify(vcpu)
  }

  /** Validates a vcpu_info address and returns its lanes; throws {@link EvtchnError}. */
  #vcpuInfoLanes(gpa: number, op: string): Int32Array {
    if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % VCPU_INFO_ALIGN !== 0)
      throw new EvtchnError('EINVAL', op, 'vcpu_info must be an 8-byte aligned GPA')
    if ((gpa % PAGE_SIZE) + VCPU_INFO_SIZE > PAGE_SIZE)
      throw new EvtchnError('EINVAL', op, 'vcpu_info must not cross a page boundary')
    return this.#lanes(gpa, VCPU_INFO_SIZE, op, 'vcpu_info')
  }

  /**
   * The Int32Array lanes of a page the engine updates atomically. EFAULT {@link EvtchnError} if
   * it is not in guest RAM, or if its backing buffer cannot give 4-byte aligned lanes or was
   * detached (GuestMemory throws its own error types for those; callers document EvtchnError).
   */
  #lanes(gpa: number, size: number, op: string, what: string): Int32Array {
    let lanes: Int32Array | undefined
    let why = 'is not in guest RAM'
    try {
      if (this.#memory.contains(gpa, size)) {
        why = 'cannot be accessed with 32-bit atomics (unaligned or detached backing buffer)'
        lanes = this.#memory.lanes(gpa, size)
      }
    } catch {
      // reported below
    }
    if (lanes === undefined || lanes.length !== size / 4)
      throw new EvtchnError('EFAULT', op, `${what} at GPA 0x${gpa.toString(16)} ${why}`)
    return lanes
  }

  /**
   * Delivers port `port` to vCPU `vcpu` (evtchn_2l_set_pending; return codes of
   * kvm_xen_set_evtchn_fast): 1 delivered, 0 already pending (coalesced, nothing else written),
   * -ENOTCONN masked (pending bit left set), -EINVAL for a bad port or vCPU or no shared_info
   * (nothing written), -EFAULT if guest memory went away under it (a detached buffer). Never throws.
   */
  setPending(port: number, vcpu: number): number {
    if (typeof port !== 'number' || !(port > 0 && port < this.#portLimit && (port | 0) === port))
      return EINVAL
    if (typeof vcpu !== 'number' || !(vcpu >= 0 && vcpu < this.#vcpus && (vcpu | 0) === vcpu))
      return EINVAL
    const sh = this.#shinfo
    if (sh === null) return EINVAL
    const lane = port >>> 5
    const bit = 1 << (port & 31)
    try {
      if ((Atomics.or(sh, PENDING_LANE + lane, bit) & bit) !== 0) return 0
      if ((Atomics.load(sh, this.#maskLane + lane) & bit) !== 0) return ENOTCONN
      this.#raise(port, vcpu)
    } catch {
      // Atomics on a detached ArrayBuffer (kvm-sys detached the region on close): the page is gone.
      return EFAULT
    }
    return 1
  }

  /**
   * EVTCHNOP_unmask (evtchn_2l_unmask): atomically clears mask bit `port`; only if it was set
   * and the port is pending, raises it on `vcpu` (the vCPU the port is bound to). 0, -EINVAL, or
   * -EFAULT if guest memory went away.
   */
  unmask(port: number, vcpu: number): number {
    if (!this.validPort(port) || !this.validVcpu(vcpu)) return EINVAL
    const sh = this.#shinfo
    if (sh === null) return EINVAL
    const lane = port >>> 5
    const bit = 1 << (port & 31)
    try {
      if ((Atomics.and(sh, this.#maskLane + lane, ~bit) & bit) === 0) return 0
      if ((Atomics.load(sh, PENDING_LANE + lane) & bit) === 0) return 0
      this.#raise(port, vcpu)
    } catch {
      return EFAULT
    }
    return 0
  }

  /**
   * Raises `port` on `vcpu` if it is pending and not masked, changing no mask bit: QEMU's
   * pseudo-unmask after EVTCHNOP_bind_vcpu moves a port.
   */
  raiseIfPending(port: number, vcpu: number): void {
    const sh = this.#shinfo
    if (sh === null || !this.validPort(port) || !this.validVcpu(vcpu)) return
    const lane = port >>> 5
    const bit = 1 << (port & 31)
    try {
      if ((Atomics.load(sh, this.#maskLane + lane) & bit) !== 0) return
      if ((Atomics.load(sh, PENDING_LANE + lane) & bit) === 0) return
      this.#raise(port, vcpu)
    } catch {
      // guest memory went away: nothing to raise into
    }
  }

  /** Atomically clears the pending bit of `port` (on close, so a rebind sees no stale event). */
  clearPending(port: number): void {
    const sh = this.#shinfo
    if (sh === null || !this.validPort(port)) return
    try {
      Atomics.and(sh, PENDING_LANE + (port >>> 5), ~(1 << (port & 31)))
    } catch {
      // guest memory went away: no bit left to clear
    }
  }

  /** Whether `port`'s pending bit is set (false without shared_info or guest memory). */
  isPending(port: number): boolean {
    return this.#testBit(PENDING_LANE, port)
  }

  /** Whether `port`'s mask bit is set (false without shared_info or guest memory). */
  isMasked(port: number): boolean {
    return this.#testBit(this.#maskLane, port)
  }

  #testBit(base: number, port: number): boolean {
    const sh = this.#shinfo
    if (sh === null || !this.validPort(port)) return false
    try {
      return (Atomics.load(sh, base + (port >>> 5)) & (1 << (port & 31))) !== 0
    } catch {
      return false
    }
  }

  /**
   * Sets every selector bit and upcall_pending of `vcpu`'s vcpu_info and notifies: Xen's
   * map_vcpu_info does this after moving a vcpu_info so no event is dropped in the move.
   */
  markAllPending(vcpu: number): void {
    const vi = this.#vcpuInfo[vcpu]
    if (vi === null || vi === undefined) return
    try {
      Atomics.store(vi, this.#selectorLane, -1)
      if (this.#geometry.wordBits === 64) Atomics.store(vi, this.#selectorLane + 1, -1)
      Atomics.or(vi, 0, 1)
    } catch {
      return // guest memory went away
    }
    this.#callNotify(vcpu)
  }

  /** Restores a shadow selector (snapshot restore). */
  restoreShadow(vcpu: number, lo: number, hi: number): void {
    this.#shadow[vcpu * 2] = lo | 0
    this.#shadow[vcpu * 2 + 1] = hi | 0
  }

  /** Registers a vcpu_info without applying the shadow (snapshot restore). */
  restoreVcpuInfo(vcpu: number, gpa: number): void {
    this.#vcpuInfo[vcpu] = this.#vcpuInfoLanes(gpa, 'restore')
    this.#vcpuInfoGpa[vcpu] = gpa
  }

  // Steps 4-5: selector bit, then upcall_pending; notify only on upcall_pending 0 -> 1
  // (vcpu_mark_events_pending). No vcpu_info: keep the selector bit in the shadow, no notify.
  #raise(port: number, vcpu: number): void {
    const word = port >>> this.#selectorShift
    const sbit = 1 << (word & 31)
    const vi = this.#vcpuInfo[vcpu]
    if (vi === null || vi === undefined) {
      const i = vcpu * 2 + (word >>> 5)
      this.#shadow[i] = (this.#shadow[i] as number) | sbit
      return
    }
    // Load first, RMW only when the bit is clear (the kernel always does the test-and-set; an
    // Atomics load costs half an Atomics RMW). Why a load that sees the bit set may return:
    //  - Our pending bit was set by a seq-cst RMW (a full barrier) before this seq-cst load.
    //  - The guest (Linux's evtchn_2l_handle_events) takes the selector with an exchange and only
    //    then scans the pending words it names; it clears upcall_pending before that exchange.
    //  - So if the load sees selector bit `word` set, the exchange that will clear it comes after
    //    our load, hence after our pending bit: the scan that follows it sees our port. Whoever
    //    set that selector bit found it clear and went on to step 5, so an upcall is pending or
    //    running and that exchange will happen. The same for upcall_pending: seen at 1, the
    //    guest has yet to clear it, and its exchange of the selector comes after our selector bit.
    //  - A test-and-set that finds the bit set writes nothing and concludes the same, at the same
    //    point of the seq-cst order: the load is that RMW's linearisation without the write.
    const si = this.#selectorLane + (word >>> 5)
    if ((Atomics.load(vi, si) & sbit) !== 0 || (Atomics.or(vi, si, sbit) & sbit) !== 0) return
    if ((Atomics.load(vi, 0) & 1) !== 0 || (Atomics.or(vi, 0, 1) & 1) !== 0) return
    this.#callNotify(vcpu)
  }

  #callNotify(vcpu: number): void {
    try {
      this.#notify(vcpu)
    } catch (e) {
      this.#onError(e)
    }
  }

  #applyGeometry(): void {
    const g = this.#geometry
    this.#portLimit = g.portLimit
    this.#maskLane = g.maskOffset >> 2
    this.#selectorShift = g.wordBits === 64 ? 6 : 5
    this.#selectorLane = g.selectorOffset >> 2
  }
}
