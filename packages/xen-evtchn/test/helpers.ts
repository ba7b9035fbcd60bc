// Test fixtures: a guest with shared_info and per-vCPU vcpu_info in SharedArrayBuffer memory, a
// manual clock, and a view of the guest-visible event channel state.
import { GuestMemory } from '@tsvmm/guest-memory'
import { EVTCHNOP, EVTCHNOP_ARGS, type EvtchnClock, EvtchnEngine } from '../src/index.js'
import { geometry } from '../src/layout.js'

export const RAM_SIZE = 0x100000
export const SHINFO = 0x10000
export const ARG = 0x20000
export const VCPUS = 4

/**
 * A clock tests drive by hand: `advance` runs every call whose deadline has come, in order. On
 * time, each call runs with `now()` at its deadline; a `late` clock runs them all at the end of
 * the advance, as a host timer that woke up late does.
 */
export class ManualClock implements EvtchnClock {
  static readonly MAX_FIRES = 1_000_000
  time = 0
  late = false
  #next = 1
  readonly #due = new Map<number, { at: number; fire: () => void }>()

  now(): number {
    return this.time
  }

  schedule(deadlineNs: number, fire: () => void): unknown {
    const id = this.#next++
    this.#due.set(id, { at: deadlineNs, fire })
    return id
  }

  cancel(handle: unknown): void {
    this.#due.delete(handle as number)
  }

  /** Number of scheduled calls. */
  get pending(): number {
    return this.#due.size
  }

  /**
   * Moves time on by `ns`, firing what falls due in deadline order (at its deadline, or at the
   * end when `late`). More than MAX_FIRES calls in one advance throws: a punctual clock stepped
   * over days of 1 ms ticks would otherwise run for hours (a test's mistake, not the engine's).
   */
  advance(ns: number): void {
    const end = this.time + ns
    let fires = 0
    for (;;) {
      let first: [number, { at: number; fire: () => void }] | undefined
      for (const e of this.#due)
        if (e[1].at <= end && (first === undefined || e[1].at < first[1].at)) first = e
      if (first === undefined) break
      this.#due.delete(first[0])
      if (++fires > ManualClock.MAX_FIRES)
        throw new Error(
          `ManualClock: more than ${ManualClock.MAX_FIRES} timer calls in one advance`,
        )
      this.time = this.late ? end : Math.max(this.time, first[1].at)
      first[1].fire()
    }
    this.time = end
  }
}

/** Guest-visible event channel state, read straight from guest memory. */
export class GuestView {
  constructor(
    readonly memory: GuestMemory,
    public longMode: boolean,
    readonly shinfo = SHINFO,
  ) {}

  get geometry() {
    return geometry(this.longMode)
  }

  vcpuInfo(vcpu: number): number {
    return this.shinfo + 64 * vcpu
  }

  pending(port: number): boolean {
    return this.memory.testBit(this.shinfo + 0x800, port)
  }

  masked(port: number): boolean {
    return this.memory.testBit(this.shinfo + this.geometry.maskOffset, port)
  }

  mask(port: number): void {
    this.memory.testAndSetBit(this.shinfo + this.geometry.maskOffset, port)
  }

  unmaskBit(port: number): void {
    this.memory.testAndClearBit(this.shinfo + this.geometry.maskOffset, port)
  }

  clearPending(port: number): void {
    this.memory.testAndClearBit(this.shinfo + 0x800, port)
  }

  /** The selector word of a vCPU as a bigint (u64 in long mode, u32 in compat). */
  selector(vcpu: number, at = this.vcpuInfo(vcpu)): bigint {
    return this.longMode ? this.memory.readU64(at + 8) : BigInt(this.memory.readU32(at + 4))
  }

  /** What the guest's handler does first: clear upcall_pending and take the selector. */
  consume(vcpu: number, at = this.vcpuInfo(vcpu)): bigint {
    const sel = this.selector(vcpu, at)
    this.memory.writeU8(at, 0)
    if (this.longMode) this.memory.writeU64(at + 8, 0n)
    else this.memory.writeU32(at + 4, 0)
    return sel
  }

  upcall(vcpu: number, at = this.vcpuInfo(vcpu)): number {
    return this.memory.readU8(at)
  }

  /** The selector bit a port uses in this mode. */
  word(port: number): bigint {
    return BigInt(Math.floor(port / this.geometry.wordBits))
  }
}

export interface Guest {
  memory: GuestMemory
  engine: EvtchnEngine
  clock: ManualClock
  notified: number[]
  view: GuestView
  sab: SharedArrayBuffer
}

/** A guest with shared_info at SHINFO and vCPU N's vcpu_info at Xen's default SHINFO + 64 N. */
export function makeGuest(longMode: boolean, opts: { vcpuInfo?: boolean } = {}): Guest {
  const sab = new SharedArrayBuffer(RAM_SIZE)
  const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(sab) }])
  const notified: number[] = []
  const clock = new ManualClock()
  const engine = new EvtchnEngine({
    memory,
    vcpus: VCPUS,
    longMode,
    clock,
    notify: (v) => notified.push(v),
  })
  engine.setSharedInfo(SHINFO)
  if (opts.vcpuInfo !== false)
    for (let v = 0; v < VCPUS; v++) engine.setVcpuInfo(v, SHINFO + 64 * v)
  return { memory, engine, clock, notified, view: new GuestView(memory, longMode), sab }
}

type OpName = keyof typeof EVTCHNOP_ARGS

/** Writes an EVTCHNOP argument struct at ARG, issues the hypercall, and returns RAX and the struct. */
export function evtchnOp(
  g: Pick<Guest, 'engine' | 'memory'>,
  op: OpName,
  fields: Record<string, number>,
  vcpu = 0,
): { rc: number; out: (field: string) => number } {
  const layout = EVTCHNOP_ARGS[op] as Record<string, number>
  g.memory.fill(ARG, 32, 0)
  for (const [name, value] of Object.entries(fields)) {
    const off = layout[name]
    if (off === undefined) throw new Error(`no field ${name} in ${op}`)
    if (name === 'dom' || name === 'remote_dom') g.memory.writeU16(ARG + off, value)
    else g.memory.writeU32(ARG + off, value)
  }
  const rc = g.engine.hypercall(EVTCHNOP[op], ARG, vcpu)
  return {
    rc,
    out: (field) => {
      const off = layout[field]
      if (off === undefined) throw new Error(`no field ${field} in ${op}`)
      return g.memory.readU32(ARG + off)
    },
  }
}

/** EVTCHNOP_alloc_unbound(DOMID_SELF, remote) returning the port (asserting success). */
export function allocUnbound(g: Guest, remoteDom = 0x7ff0): number {
  const r = evtchnOp(g, 'alloc_unbound', { dom: 0x7ff0, remote_dom: remoteDom })
  if (r.rc !== 0) throw new Error(`alloc_unbound failed: ${r.rc}`)
  return r.out('port')
}

/** EVTCHNOP_bind_ipi(vcpu) returning the port (asserting success). */
export function bindIpi(g: Guest, vcpu: number): number {
  const r = evtchnOp(g, 'bind_ipi', { vcpu })
  if (r.rc !== 0) throw new Error(`bind_ipi failed: ${r.rc}`)
  return r.out('port')
}
