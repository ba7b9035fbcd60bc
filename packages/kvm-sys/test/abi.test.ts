// Every value exported by src/abi.ts equals what gcc computes from the installed headers (Xen's come
// from tools/xen-headers.mjs: libxen-dev's, fetched into ~/.cache when the machine has none).
// The test writes a C program that prints each macro, sizeof and offsetof as JSON, compiles it
// into a temp dir and compares. Values newer than the installed header are listed below and
// checked against the kernel's uapi header text instead (and against C once the header has them).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { xenIncludeDir } from '../../../tools/xen-headers.mjs'
import * as abi from '../src/abi.js'
import { loadNative } from '../src/native.js'

/**
 * Constants Debian 12's linux-libc-dev 6.1 header lacks. The C program prints them when the
 * header defines them; otherwise the test compares with the value in the upstream header.
 */
const NEWER_THAN_HEADER: Record<string, { value: bigint; source: string }> = {
  KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG: { value: 1n << 6n, source: 'uapi kvm.h, Linux 6.2' },
  KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE: { value: 1n << 7n, source: 'uapi kvm.h, Linux 6.7' },
  KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA: { value: 1n << 8n, source: 'uapi kvm.h, Linux 6.9' },
  KVM_XEN_ATTR_TYPE_RUNSTATE_UPDATE_FLAG: { value: 5n, source: 'uapi kvm.h, Linux 6.2' },
  KVM_XEN_ATTR_TYPE_SHARED_INFO_HVA: { value: 6n, source: 'uapi kvm.h, Linux 6.9' },
  KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO_HVA: { value: 9n, source: 'uapi kvm.h, Linux 6.9' },
  KVM_XEN_INVALID_GFN: { value: (1n << 64n) - 1n, source: 'uapi kvm.h, Linux 6.2' },
  KVM_XEN_INVALID_GPA: { value: (1n << 64n) - 1n, source: 'uapi kvm.h, Linux 6.2' },
  KVM_XEN_MSR_MIN_INDEX: { value: 0x40000000n, source: 'uapi asm/kvm.h, Linux 6.4' },
  KVM_XEN_MSR_MAX_INDEX: { value: 0x4fffffffn, source: 'uapi asm/kvm.h, Linux 6.4' },
}

/** Not uapi at all: KVM_MAX_IRQ_ROUTES is include/linux/kvm_host.h. The KVM suite checks it
 * against KVM_CHECK_EXTENSION(KVM_CAP_IRQ_ROUTING) on the running kernel. */
const KERNEL_INTERNAL: Record<string, bigint> = { KVM_MAX_IRQ_ROUTES: 4096n }

/** Union members the 6.1 header lacks, and the member that shares their slot there. */
const NEWER_MEMBERS: Record<string, { guard: string; sibling: string }> = {
  'kvm_xen_hvm_attr.u.runstate_update_flag': {
    guard: 'KVM_XEN_ATTR_TYPE_RUNSTATE_UPDATE_FLAG',
    sibling: 'u.long_mode',
  },
  'kvm_xen_hvm_attr.u.shared_info.hva': {
    guard: 'KVM_XEN_ATTR_TYPE_SHARED_INFO_HVA',
    sibling: 'u.shared_info.gfn',
  },
  'kvm_xen_vcpu_attr.u.hva': { guard: 'KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO_HVA', sibling: 'u.gpa' },
}

/** The three pre-rule layout exports: C struct and C member path of each key. */
const LEGACY: Record<string, { struct: string; members: Record<string, string> }> = {
  KVM_IRQ_ROUTING: { struct: 'kvm_irq_routing', members: {} },
  KVM_IRQ_ROUTING_ENTRY: {
    struct: 'kvm_irq_routing_entry',
    members: {
      'irqchip.irqchip': 'u.irqchip.irqchip',
      'irqchip.pin': 'u.irqchip.pin',
      'msi.addressLo': 'u.msi.address_lo',
      'msi.addressHi': 'u.msi.address_hi',
      'msi.data': 'u.msi.data',
      'msi.devid': 'u.msi.devid',
      's390Adapter.indAddr': 'u.adapter.ind_addr',
      's390Adapter.summaryAddr': 'u.adapter.summary_addr',
      's390Adapter.indOffset': 'u.adapter.ind_offset',
      's390Adapter.summaryOffset': 'u.adapter.summary_offset',
      's390Adapter.adapterId': 'u.adapter.adapter_id',
      'hvSint.vcpu': 'u.hv_sint.vcpu',
      'hvSint.sint': 'u.hv_sint.sint',
      'xenEvtchn.port': 'u.xen_evtchn.port',
      'xenEvtchn.vcpu': 'u.xen_evtchn.vcpu',
      'xenEvtchn.priority': 'u.xen_evtchn.priority',
    },
  },
}

interface Check {
  /** abi.ts export path, e.g. kvm_run.io.port */
  key: string
  /** What abi.ts says. */
  actual: bigint
  /** C expression, or undefined when only NEWER_THAN_HEADER / KERNEL_INTERNAL apply. */
  expr?: string
  /** Macro whose absence means the header predates the value. */
  guard?: string
  /** C expression to use when the guard is absent (a union sibling). */
  fallback?: string
}

function layoutChecks(name: string, struct: string, obj: object, prefix: string[]): Check[] {
  const out: Check[] = []
  for (const [k, v] of Object.entries(obj)) {
    const path = [...prefix, k]
    const key = `${name}.${path.join('.')}`
    if (typeof v === 'object' && v !== null) {
      out.push(...layoutChecks(name, struct, v, path))
    } else if (prefix.length === 0 && k === 'size') {
      out.push({ key, actual: BigInt(v), expr: `sizeof(struct ${struct})` })
    } else {
      // Legacy keys are camelCase under the union; the rest are C member paths already.
      const cPath = LEGACY[name]?.members[path.join('.')] ?? path.join('.')
      const newer = NEWER_MEMBERS[`${struct}.${cPath}`]
      out.push({
        key,
        actual: BigInt(v),
        expr: `offsetof(struct ${struct}, ${cPath})`,
        ...(newer && {
          guard: newer.guard,
          fallback: `offsetof(struct ${struct}, ${newer.sibling})`,
        }),
      })
    }
  }
  return out
}

/** One check per exported value; throws on an export the rules do not cover. */
function allChecks(): Check[] {
  const checks: Check[] = []
  for (const [name, value] of Object.entries(abi)) {
    if (typeof value === 'number' || typeof value === 'bigint') {
      if (name in KERNEL_INTERNAL) checks.push({ key: name, actual: BigInt(value) })
      else checks.push({ key: name, actual: BigInt(value), expr: name, guard: name })
    } else if (name === 'IOCTLS' || name === 'KVM_XEN_HVM_CONFIG_FLAGS' || name === 'Cap') {
      const prefix = {
        IOCTLS: '',
        KVM_XEN_HVM_CONFIG_FLAGS: 'KVM_XEN_HVM_CONFIG_',
        Cap: 'KVM_CAP_',
      }[name]
      for (const [k, v] of Object.entries(value)) {
        const macro = `${prefix}${k}`
        checks.push({ key: `${name}.${k}`, actual: BigInt(v), expr: macro, guard: macro })
      }
    } else if (name === 'KVM_STRUCT_SIZES') {
      for (const [k, v] of Object.entries(value))
        checks.push({ key: `${name}.${k}`, actual: BigInt(v), expr: `sizeof(struct ${k})` })
    } else if (name in LEGACY) {
      checks.push(...layoutChecks(name, LEGACY[name]?.struct ?? '', value, []))
    } else if (/^[a-z0-9_]+$/.test(name) && typeof value === 'object' && 'size' in value) {
      checks.push(...layoutChecks(name, name, value, []))
    } else {
      throw new Error(`abi.ts export ${name} has no rule in abi.test.ts`)
    }
  }
  return checks
}

function cProgram(checks: Check[]): string {
  const lines = checks
    .filter((c) => c.expr !== undefined)
    .map((c, i) => {
      const sep = i === 0 ? '' : ','
      const print = (e: string) =>
        `printf("${sep}\\"%s\\":\\"%llu\\"\\n", "${c.key}", (unsigned long long)(${e}));`
      if (c.guard === undefined) return print(c.expr ?? '')
      const absent =
        c.fallback === undefined
          ? `printf("${sep}\\"%s\\":null\\n", "${c.key}");`
          : print(c.fallback)
      return `#ifdef ${c.guard}\n${print(c.expr ?? '')}\n#else\n${absent}\n#endif`
    })
  return [
    '#include <stddef.h>',
    '#include <stdint.h>',
    '#include <stdio.h>',
    '#include <linux/kvm.h>',
    '#include <xen/xen.h>',
    '#include <xen/event_channel.h>',
    'int main(void) {',
    'printf("{");',
    ...lines,
    'printf("}\\n");',
    'return 0;',
    '}',
  ].join('\n')
}

describe('abi.ts equals C compiled against the installed <linux/kvm.h>', () => {
  let dir: string
  let fromC: Record<string, string | null>
  const checks = allChecks()

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvm-sys-abi-'))
    writeFileSync(join(dir, 'abi.c'), cProgram(checks))
    // Xen's public headers: the machine's libxen-dev, else fetched into ~/.cache by the helper.
    const xen = await xenIncludeDir()
    execFileSync('gcc', [
      '-std=gnu11',
      '-Wall',
      '-I',
      xen,
      '-o',
      join(dir, 'abi'),
      join(dir, 'abi.c'),
    ])
    fromC = JSON.parse(execFileSync(join(dir, 'abi'), { encoding: 'utf8' }))
  }, 300_000) // a first fetch of libxen-dev's headers includes apt-get update
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('covers every export with at least 300 values', () => {
    expect(checks.length).toBeGreaterThan(300)
  })

  it('every macro, sizeof and offsetof the header has', () => {
    const mismatches = checks
      .filter((c) => c.expr !== undefined && fromC[c.key] !== null)
      .filter((c) => BigInt(fromC[c.key] ?? -1) !== c.actual)
      .map((c) => `${c.key}: abi.ts ${c.actual}, C ${fromC[c.key]}`)
    expect(mismatches).toEqual([])
  })

  it('values newer than the installed header equal the upstream uapi header', () => {
    const missing = checks.filter((c) => c.expr !== undefined && fromC[c.key] === null)
    // Exactly these could not be confirmed by the installed header: say so, then check them.
    const macros = [...new Set(missing.map((c) => c.guard ?? c.key))].sort()
    console.info(`not in the installed <linux/kvm.h>, checked against upstream: ${macros}`)
    for (const c of missing) {
      const upstream = NEWER_THAN_HEADER[c.guard ?? c.key]
      expect(
        upstream,
        `${c.key} is missing from the header and has no upstream value`,
      ).toBeDefined()
      expect(c.actual, c.key).toBe(upstream?.value)
    }
    // A value listed as newer that the header does define was compared with C above.
    expect(macros.length).toBeGreaterThan(0)
  })

  it('KVM_MAX_IRQ_ROUTES is kernel-internal and has its documented value', () => {
    expect(BigInt(abi.KVM_MAX_IRQ_ROUTES)).toBe(KERNEL_INTERNAL.KVM_MAX_IRQ_ROUTES)
  })

  it('the ioctl table of the addon uses the numbers in IOCTLS', () => {
    const { ioctls } = loadNative()
    for (const op of ioctls)
      expect(op.nr, op.name).toBe(abi.IOCTLS[op.name as keyof typeof abi.IOCTLS])
  })

  it('the addon reports the same constants and sizes', () => {
    const { uapi } = loadNative()
    for (const [name, value] of Object.entries(uapi)) {
      if (name.startsWith('sizeof_')) {
        const struct = name.slice('sizeof_'.length)
        const layout = (abi as Record<string, unknown>)[struct] as { size: number } | undefined
        const size = layout?.size ?? (abi.KVM_STRUCT_SIZES as Record<string, number>)[struct]
        const legacy = struct === 'kvm_irq_routing' ? abi.KVM_IRQ_ROUTING.size : undefined
        const legacyEntry =
          struct === 'kvm_irq_routing_entry' ? abi.KVM_IRQ_ROUTING_ENTRY.size : undefined
        expect(size ?? legacy ?? legacyEntry, name).toBe(value)
      } else if (name in abi.IOCTLS) {
        expect(abi.IOCTLS[name as keyof typeof abi.IOCTLS], name).toBe(value)
      } else {
        expect((abi as Record<string, unknown>)[name], name).toBe(value)
      }
    }
  })
})
