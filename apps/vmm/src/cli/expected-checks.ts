// The checks each guest image must report (tools/guests/checks.json), and how a run's results
// compare with them. A check the guest never reported counts as failed, like one it reported
// failed: a guest that silently skips checks, or stops half-way, must not look like a pass.
import { readFileSync } from 'node:fs'
import { EXIT, VmmError } from '../errors.js'

/** The named checks of one guest image. */
export interface CheckList {
  /** Reported by every vCPU. */
  readonly everyVcpu: readonly string[]
  /** Reported by vCPU 0. */
  readonly vcpu0: readonly string[]
  /** Reported by vCPU 0 when the VM has two vCPUs or more. */
  readonly vcpu0WithSeveral: readonly string[]
  /** Reported by vCPU 0 in kernel delivery only (KVM does SCHEDOP_poll itself there). */
  readonly vcpu0KernelDelivery: readonly string[]
  /** Reported by vCPU 0 in user delivery only (KVM answers SCHEDOP_poll as a yield there). */
  readonly vcpu0UserDelivery: readonly string[]
}

/** The delivery mode a run used. */
export type Delivery = 'kernel' | 'user'

const LIST_KEYS = [
  'everyVcpu',
  'vcpu0',
  'vcpu0WithSeveral',
  'vcpu0KernelDelivery',
  'vcpu0UserDelivery',
] as const

const isNames = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((n) => typeof n === 'string' && n.length > 0)

/** Parses the check lists of a checks.json; a VmmError('image') names what is wrong. */
export function parseCheckLists(text: string, source: string): Record<string, CheckList> {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (e) {
    throw new VmmError('image', `${source}: not JSON: ${(e as Error).message}`)
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new VmmError('image', `${source}: want an object of guest names to check lists`)
  const lists: Record<string, CheckList> = {}
  for (const [guest, v] of Object.entries(data)) {
    const l = (v ?? {}) as Partial<Record<keyof CheckList, unknown>>
    if (!LIST_KEYS.every((k) => isNames(l[k])))
      throw new VmmError(
        'image',
        `${source}: "${guest}" wants ${LIST_KEYS.join(', ')} as lists of check names`,
      )
    lists[guest] = Object.fromEntries(LIST_KEYS.map((k) => [k, l[k]])) as unknown as CheckList
  }
  return lists
}

/** Reads the check lists from a checks.json file. */
export function loadCheckLists(file: string): Record<string, CheckList> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new VmmError(
      'image',
      `cannot read the guests' check list ${file}: ${(e as Error).message}`,
    )
  }
  return parseCheckLists(text, file)
}

/** The checks a run on `vcpus` vCPUs in `delivery` mode must report, as "vcpu:name", sorted. */
export function expectedChecks(list: CheckList, vcpus: number, delivery: Delivery): string[] {
  if (!Number.isSafeInteger(vcpus) || vcpus < 1)
    throw new VmmError('usage', `expectedChecks: vcpus must be a positive integer, got ${vcpus}`)
  const want: string[] = []
  for (let v = 0; v < vcpus; v++) for (const n of list.everyVcpu) want.push(`${v}:${n}`)
  for (const n of list.vcpu0) want.push(`0:${n}`)
  if (vcpus > 1) for (const n of list.vcpu0WithSeveral) want.push(`0:${n}`)
  if (delivery !== 'kernel' && delivery !== 'user')
    throw new VmmError('usage', `expectedChecks: delivery must be kernel or user, got ${delivery}`)
  const byDelivery = delivery === 'kernel' ? list.vcpu0KernelDelivery : list.vcpu0UserDelivery
  for (const n of byDelivery) want.push(`0:${n}`)
  return want.sort()
}

/** The expected checks ("vcpu:name") that no result reported. */
export function missingChecks(
  expected: readonly string[],
  results: readonly { vcpu: number; name: string }[],
): string[] {
  const got = new Set(results.map((r) => `${r.vcpu}:${r.name}`))
  return expected.filter((c) => !got.has(c))
}

/** What a `tsvmm run --json` child of the demo gave back. */
export interface ChildRunReport {
  readonly results: readonly { vcpu: number; name: string; passed: boolean }[]
  readonly end: { exitCode: number; message: string } | undefined
  readonly stderr: string
  /** The child's exit status. */
  readonly status: number
}

/**
 * What one run adds to the demo's "N passed, N failed", and the lines that say why: each failed
 * check, each expected check the guest never reported, and one more failure for a run that did
 * not end well (exit code, or an end line saying so), whatever its checks said.
 */
export function tallyRun(
  run: ChildRunReport,
  expected: readonly string[],
): { passed: number; failed: number; lines: string[] } {
  const lines: string[] = []
  const passed = run.results.filter((x) => x.passed).length
  let failed = run.results.length - passed
  const missing = missingChecks(expected, run.results)
  if (missing.length > 0) {
    failed += missing.length
    lines.push(`FAIL missing: ${missing.join(', ')}`)
  }
  if (run.status === EXIT.OK && run.end?.exitCode === EXIT.OK) {
    lines.push(`ok: ${run.end.message}`)
  } else {
    failed++
    lines.push(`FAIL run: ${run.end?.message ?? `exit ${run.status}`}`)
    const tail = run.stderr.trim().split('\n').slice(-5).join('\n')
    if (tail) lines.push(tail)
  }
  return { passed, failed, lines }
}
