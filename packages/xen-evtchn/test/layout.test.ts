// Every constant and layout in layout.ts and errno.ts, checked against Xen's public headers
// (libxen-dev's, fetched into ~/.cache by tools/xen-headers.mjs when the machine has none) by gcc with
// _Static_assert, for -m64 and -m32 guests.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { xenIncludeDir } from '../../../tools/xen-headers.mjs'
import {
  DOMID_SELF,
  EVTCHNOP,
  EVTCHNOP_ARGS,
  EVTCHNSTAT,
  errnoName,
  GEOMETRY_32,
  GEOMETRY_64,
  GNTST,
  GNTTAB_ARGS,
  GNTTAB_RESERVED,
  GNTTABOP,
  GTF,
  HVM_PARAM,
  HVMOP,
  HYPERVISOR,
  NR_VIRQS,
  SCHEDOP,
  SHUTDOWN,
  VCPU_INFO_SIZE,
  VCPU_SSHOTTMR_future,
  VCPUOP,
  VCPUOP_ARGS,
  VIRQ,
  XEN_LEGACY_MAX_VCPUS,
  XENFEAT,
  XENMAPSPACE,
  XENMEM,
  XENVER,
  XenErrno,
} from '../src/index.js'

const STRUCTS: Record<string, string> = {
  bind_interdomain: 'evtchn_bind_interdomain',
  bind_virq: 'evtchn_bind_virq',
  bind_pirq: 'evtchn_bind_pirq',
  close: 'evtchn_close',
  send: 'evtchn_send',
  status: 'evtchn_status',
  alloc_unbound: 'evtchn_alloc_unbound',
  bind_ipi: 'evtchn_bind_ipi',
  bind_vcpu: 'evtchn_bind_vcpu',
  unmask: 'evtchn_unmask',
  reset: 'evtchn_reset',
}

// Field names in layout.ts that are not C member paths.
const FIELD_PATHS: Record<string, string> = { u: 'u', interdomain_port: 'u.interdomain.port' }

function asserts(longMode: boolean): string[] {
  const g = longMode ? GEOMETRY_64 : GEOMETRY_32
  const a: string[] = []
  const eq = (c: string, v: number | string) =>
    a.push(`_Static_assert((${c}) == (${v}), "${c} == ${v}");`)
  eq('OFF(struct shared_info, evtchn_pending)', g.pendingOffset)
  eq('OFF(struct shared_info, evtchn_mask)', g.maskOffset)
  eq('sizeof(struct shared_info)', g.sharedInfoSize)
  eq('sizeof(((struct shared_info *)0)->evtchn_pending) * 8', g.portLimit)
  eq('sizeof(xen_ulong_t) * 8', g.wordBits)
  eq('OFF(struct vcpu_info, evtchn_pending_sel)', g.selectorOffset)
  eq('OFF(struct vcpu_info, evtchn_upcall_pending)', 0)
  eq('sizeof(struct vcpu_info)', VCPU_INFO_SIZE)
  eq('XEN_LEGACY_MAX_VCPUS', XEN_LEGACY_MAX_VCPUS)
  // reset_cont (14) is newer than the installed headers (Xen 4.17); abi-facts.md lists it.
  for (const [name, n] of Object.entries(EVTCHNOP))
    if (name !== 'reset_cont') eq(`EVTCHNOP_${name}`, n)
  for (const [name, n] of Object.entries(EVTCHNSTAT)) eq(`EVTCHNSTAT_${name}`, n)
  for (const [op, layout] of Object.entries(EVTCHNOP_ARGS)) {
    const s = `struct ${STRUCTS[op]}`
    for (const [field, v] of Object.entries(layout)) {
      if (field === 'size') eq(`sizeof(${s})`, v)
      else eq(`OFF(${s}, ${FIELD_PATHS[field] ?? field})`, v)
    }
  }
  for (const [name, n] of Object.entries(VIRQ)) eq(`VIRQ_${name}`, n)
  eq('NR_VIRQS', NR_VIRQS)
  eq('DOMID_SELF', DOMID_SELF)
  for (const [name, n] of Object.entries(HYPERVISOR)) eq(`__HYPERVISOR_${name}`, n)
  for (const [name, n] of Object.entries(SCHEDOP)) eq(`SCHEDOP_${name}`, n)
  for (const [name, n] of Object.entries(SHUTDOWN)) eq(`SHUTDOWN_${name}`, n)
  for (const [name, n] of Object.entries(HVMOP)) eq(`HVMOP_${name}`, n)
  for (const [name, n] of Object.entries(HVM_PARAM)) eq(`HVM_PARAM_${name}`, n)
  for (const [name, n] of Object.entries(XENVER)) eq(`XENVER_${name}`, n)
  for (const [name, n] of Object.entries(XENFEAT)) eq(`XENFEAT_${name}`, n)
  for (const [name, n] of Object.entries(XENMEM)) eq(`XENMEM_${name}`, n)
  for (const [name, n] of Object.entries(XENMAPSPACE)) eq(`XENMAPSPACE_${name}`, n)
  for (const [name, n] of Object.entries(VCPUOP)) eq(`VCPUOP_${name}`, n)
  const sst = VCPUOP_ARGS.set_singleshot_timer
  eq('sizeof(struct vcpu_set_singleshot_timer)', longMode ? sst.size64 : sst.size32)
  eq('OFF(struct vcpu_set_singleshot_timer, flags)', sst.flags)
  eq('sizeof(struct vcpu_set_periodic_timer)', VCPUOP_ARGS.set_periodic_timer.size)
  const rvi = VCPUOP_ARGS.register_vcpu_info
  eq('sizeof(struct vcpu_register_vcpu_info)', rvi.size)
  eq('OFF(struct vcpu_register_vcpu_info, offset)', rvi.offset)
  eq('OFF(struct vcpu_register_vcpu_info, rsvd)', rvi.rsvd)
  eq('VCPU_SSHOTTMR_future', VCPU_SSHOTTMR_future)
  for (const [name, n] of Object.entries(XenErrno)) eq(`XEN_${name}`, n)
  for (const [name, n] of Object.entries(GNTTABOP)) eq(`GNTTABOP_${name}`, n)
  for (const [name, n] of Object.entries(GNTST)) eq(`GNTST_${name}`, n)
  for (const [name, n] of Object.entries(GTF)) eq(`GTF_${name}`, n)
  for (const [name, n] of Object.entries(GNTTAB_RESERVED))
    eq(`GNTTAB_${name === 'NR_ENTRIES' ? 'NR_RESERVED_ENTRIES' : `RESERVED_${name}`}`, n)
  const gst = GNTTAB_ARGS.setup_table
  eq('sizeof(struct gnttab_setup_table)', longMode ? gst.size64 : gst.size32)
  eq('OFF(struct gnttab_setup_table, dom)', gst.dom)
  eq('OFF(struct gnttab_setup_table, nr_frames)', gst.nr_frames)
  eq('OFF(struct gnttab_setup_table, status)', gst.status)
  eq('OFF(struct gnttab_setup_table, frame_list)', longMode ? gst.frame_list64 : gst.frame_list32)
  eq('sizeof(xen_pfn_t)', longMode ? 8 : 4)
  for (const [s, layout] of Object.entries(GNTTAB_ARGS)) {
    if (s === 'setup_table') continue
    const t = s === 'grant_entry_v1' ? 'struct grant_entry_v1' : `struct gnttab_${s}`
    for (const [field, v] of Object.entries(layout))
      eq(field === 'size' ? `sizeof(${t})` : `OFF(${t}, ${field})`, v)
  }
  return a
}

describe.each([
  ['-m64', true],
  ['-m32', false],
] as const)('Xen ABI (%s)', (flag, longMode) => {
  // Xen's public headers: the machine's libxen-dev, else fetched into ~/.cache by the helper.
  let xen: string
  beforeAll(async () => {
    xen = await xenIncludeDir()
  }, 300_000) // a first fetch of libxen-dev's headers includes apt-get update

  it('matches the public headers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xen-layout-'))
    try {
      const file = join(dir, 'layout.c')
      const checks = asserts(longMode)
      writeFileSync(
        file,
        [
          // A guest of interface 4.6 or later: older ones see the *_compat hypercall numbers.
          '#define __XEN_INTERFACE_VERSION__ 0x00040600',
          '#include <stdint.h>',
          '#include <xen/xen.h>',
          '#include <xen/event_channel.h>',
          '#include <xen/vcpu.h>',
          '#include <xen/errno.h>',
          '#include <xen/sched.h>',
          '#include <xen/version.h>',
          '#include <xen/features.h>',
          '#include <xen/memory.h>',
          '#include <xen/grant_table.h>',
          '#include <xen/hvm/hvm_op.h>',
          '#include <xen/hvm/params.h>',
          '#define OFF(t, f) __builtin_offsetof(t, f)',
          ...checks,
          '',
        ].join('\n'),
      )
      let out = ''
      try {
        execFileSync('gcc', [flag, '-ffreestanding', '-I', xen, '-fsyntax-only', file], {
          stdio: 'pipe',
        })
      } catch (e) {
        out = String((e as { stderr?: Buffer }).stderr ?? e)
      }
      expect(out).toBe('')
      expect(checks.length).toBeGreaterThan(100)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('errnoName', () => {
  it('names errnos given either sign, and falls back to E<n>', () => {
    expect(errnoName(-107)).toBe('ENOTCONN')
    expect(errnoName(22)).toBe('EINVAL')
    expect(errnoName(-999)).toBe('E999')
  })
})
