// The engine's state as versioned, JSON-serialisable data, and its validation on the way back in.
// Pending and mask bits live in guest memory and are not part of it.
import { EvtchnError } from './errno.js'
import { DOMID_FIRST_RESERVED, EVTCHNSTAT, MAX_PORTS, NR_VIRQS, virqIsPerVcpu } from './layout.js'
import type { PortRecord } from './port-records.js'
import { MAX_PERIOD_NS, MAX_TIME_NS, MIN_PERIOD_NS, type TimerRecord } from './timers.js'

/** Identifies a snapshot of this engine. */
export const SNAPSHOT_FORMAT = 'tsvmm.xen-evtchn'
/** The snapshot layout version this engine writes and reads. */
export const SNAPSHOT_VERSION = 1

/** Everything needed to rebuild an engine on the same guest memory. Plain JSON data. */
export interface EvtchnSnapshot {
  /** Always SNAPSHOT_FORMAT: marks the data as this engine's. */
  format: typeof SNAPSHOT_FORMAT
  /** The layout version (SNAPSHOT_VERSION); another version is refused on restore. */
  version: typeof SNAPSHOT_VERSION
  /** vCPU count. */
  vcpus: number
  /** This domain's id. */
  domid: number
  /** Guest width: 64-bit (true) or 32-bit. */
  longMode: boolean
  /** GPA of shared_info, or null. */
  sharedInfo: number | null
  /** Per vCPU: GPA of its vcpu_info, or null. */
  vcpuInfo: (number | null)[]
  /** Per vCPU: whether the guest registered it with VCPUOP_register_vcpu_info. */
  vcpuInfoRegistered: boolean[]
  /** Per vCPU: selector bits held while it had no vcpu_info, as [low u32, high u32]. */
  shadowSelectors: [number, number][]
  /** Every open port. */
  ports: PortRecord[]
  /** Running timers. */
  timers: TimerRecord[]
}

function fail(hint: string): never {
  throw new EvtchnError('EINVAL', 'restore', hint)
}

function isUint(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max
}

function isGpa(v: unknown): v is number | null {
  return v === null || isUint(v, Number.MAX_SAFE_INTEGER)
}

// The timers' own limits (timers.ts), so every time a guest can make them hold restores.
function isTime(v: unknown): v is number | null {
  return v === null || isUint(v, MAX_TIME_NS)
}

function isPeriod(v: unknown): v is number | null {
  return v === null || (isUint(v, MAX_PERIOD_NS) && v >= MIN_PERIOD_NS)
}

/**
 * Checks that `data` is a well-formed snapshot this engine can restore (types, ranges, port
 * consistency) and returns it typed. Throws {@link EvtchnError} `EINVAL` naming the first problem.
 */
export function validateSnapshot(data: unknown): EvtchnSnapshot {
  if (typeof data !== 'object' || data === null) fail('snapshot is not an object')
  const s = data as Record<string, unknown>
  if (s.format !== SNAPSHOT_FORMAT) fail(`format is not ${SNAPSHOT_FORMAT}`)
  if (s.version !== SNAPSHOT_VERSION)
    fail(`version ${String(s.version)} is not ${SNAPSHOT_VERSION}`)
  if (!isUint(s.vcpus, 0xffff) || s.vcpus < 1) fail('vcpus must be 1..65535')
  const vcpus = s.vcpus
  if (!isUint(s.domid, DOMID_FIRST_RESERVED - 1) || s.domid === 0) fail('domid must be 1..0x7fef')
  if (typeof s.longMode !== 'boolean') fail('longMode must be a boolean')
  if (!isGpa(s.sharedInfo)) fail('sharedInfo must be a GPA or null')
  const perVcpu = (name: string, ok: (v: unknown) => boolean) => {
    const a = s[name]
    if (!Array.isArray(a) || a.length !== vcpus || !a.every(ok))
      fail(`${name} must hold one valid entry per vCPU`)
  }
  perVcpu('vcpuInfo', isGpa)
  perVcpu('vcpuInfoRegistered', (v) => typeof v === 'boolean')
  perVcpu(
    'shadowSelectors',
    (v) =>
      Array.isArray(v) && v.length === 2 && isUint(v[0], 0xffff_ffff) && isUint(v[1], 0xffff_ffff),
  )
  if (!Array.isArray(s.ports)) fail('ports must be an array')
  const seen = new Set<number>()
  const byPort = new Map<number, PortRecord>()
  for (const p of s.ports as unknown[]) {
    const r = p as Partial<PortRecord> | null
    if (
      typeof r !== 'object' ||
      r === null ||
      !isUint(r.port, MAX_PORTS - 1) ||
      r.port === 0 ||
      !isUint(r.status, EVTCHNSTAT.ipi) ||
      r.status === EVTCHNSTAT.closed ||
      !isUint(r.vcpu, vcpus - 1) ||
      !isUint(r.value, 0xffff_ffff) ||
      !isUint(r.remoteDom, 0xffff)
    )
      fail(`port record ${JSON.stringify(p)} is malformed`)
    if (seen.has(r.port)) fail(`port ${r.port} appears twice`)
    seen.add(r.port)
    byPort.set(r.port, r as PortRecord)
  }
  const virqs = new Set<number>()
  for (const r of byPort.values()) {
    if (r.status === EVTCHNSTAT.virq) {
      if (r.value >= NR_VIRQS) fail(`port ${r.port}: VIRQ ${r.value} out of range`)
      const owner = virqIsPerVcpu(r.value) ? r.vcpu : 0
      const key = owner * NR_VIRQS + r.value
      if (virqs.has(key)) fail(`VIRQ ${r.value} bound twice on vCPU ${owner}`)
      virqs.add(key)
    }
    if (r.status === EVTCHNSTAT.interdomain && r.remoteDom !== 0) {
      const peer = byPort.get(r.value)
      if (peer?.status !== EVTCHNSTAT.interdomain || peer.value !== r.port)
        fail(`port ${r.port}: loopback peer ${r.value} does not point back`)
    }
  }
  if (!Array.isArray(s.timers)) fail('timers must be an array')
  for (const t of s.timers as unknown[]) {
    const r = t as Partial<TimerRecord> | null
    if (
      typeof r !== 'object' ||
      r === null ||
      !isUint(r.vcpu, vcpus - 1) ||
      !isTime(r.singleshot) ||
      !isPeriod(r.period) ||
      !isTime(r.periodicNext) ||
      (r.period === null) !== (r.periodicNext === null)
    )
      fail(`timer record ${JSON.stringify(t)} is malformed`)
  }
  return s as unknown as EvtchnSnapshot
}
