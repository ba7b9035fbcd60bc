// x86 vCPU state (x86.ts) encoded into the KVM structs and back, with offsets from abi.ts.
// Encoding checks every field first: a missing register, a number where a u64 bigint belongs, a
// segment field wider than its C type, is a KvmError 'EINVAL' naming the ioctl.
import {
  kvm_cpuid_entry2,
  kvm_cpuid2,
  kvm_dtable,
  kvm_fpu,
  kvm_msr_entry,
  kvm_msrs,
  kvm_regs,
  kvm_segment,
  kvm_sregs,
} from './abi.js'
import { array, bytes, object, u64Big, uint } from './args.js'
import type { CpuidEntry, DescriptorTable, Fpu, MsrEntry, Regs, Segment, Sregs } from './x86.js'

const REG_NAMES = [
  'rax',
  'rbx',
  'rcx',
  'rdx',
  'rsi',
  'rdi',
  'rsp',
  'rbp',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
  'rip',
  'rflags',
] as const satisfies readonly (keyof Regs)[]

const SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)

/** struct kvm_regs -> Regs. */
export function decodeRegs(b: Uint8Array): Regs {
  const v = view(b)
  const out = {} as Regs
  for (const r of REG_NAMES) out[r] = v.getBigUint64(kvm_regs[r], true)
  return out
}

/** Regs -> struct kvm_regs. Every register must be there, a bigint. */
export function encodeRegs(regs: Regs): Uint8Array {
  const S = 'KVM_SET_REGS'
  const r = object<Regs>(S, 'regs', regs)
  const b = new Uint8Array(kvm_regs.size)
  const v = view(b)
  for (const n of REG_NAMES) v.setBigUint64(kvm_regs[n], u64Big(S, `regs.${n}`, r[n]), true)
  return b
}

function decodeSegment(v: DataView, at: number): Segment {
  return {
    base: v.getBigUint64(at + kvm_segment.base, true),
    limit: v.getUint32(at + kvm_segment.limit, true),
    selector: v.getUint16(at + kvm_segment.selector, true),
    type: v.getUint8(at + kvm_segment.type),
    present: v.getUint8(at + kvm_segment.present),
    dpl: v.getUint8(at + kvm_segment.dpl),
    db: v.getUint8(at + kvm_segment.db),
    s: v.getUint8(at + kvm_segment.s),
    l: v.getUint8(at + kvm_segment.l),
    g: v.getUint8(at + kvm_segment.g),
    avl: v.getUint8(at + kvm_segment.avl),
    unusable: v.getUint8(at + kvm_segment.unusable),
  }
}

const SEGMENT_BYTES = ['type', 'present', 'dpl', 'db', 's', 'l', 'g', 'avl', 'unusable'] as const

function encodeSegment(v: DataView, at: number, name: string, seg: Segment): void {
  const S = 'KVM_SET_SREGS'
  const s = object<Segment>(S, name, seg)
  v.setBigUint64(at + kvm_segment.base, u64Big(S, `${name}.base`, s.base), true)
  v.setUint32(at + kvm_segment.limit, uint(S, `${name}.limit`, s.limit), true)
  v.setUint16(at + kvm_segment.selector, uint(S, `${name}.selector`, s.selector, 16), true)
  for (const f of SEGMENT_BYTES) v.setUint8(at + kvm_segment[f], uint(S, `${name}.${f}`, s[f], 8))
}

/** struct kvm_sregs -> Sregs. */
export function decodeSregs(b: Uint8Array): Sregs {
  const v = view(b)
  const seg = (n: (typeof SEGMENTS)[number]) => decodeSegment(v, kvm_sregs[n])
  const dt = (at: number): DescriptorTable => ({
    base: v.getBigUint64(at + kvm_dtable.base, true),
    limit: v.getUint16(at + kvm_dtable.limit, true),
  })
  const u64 = (at: number) => v.getBigUint64(at, true)
  const bm = kvm_sregs.interrupt_bitmap
  return {
    cs: seg('cs'),
    ds: seg('ds'),
    es: seg('es'),
    fs: seg('fs'),
    gs: seg('gs'),
    ss: seg('ss'),
    tr: seg('tr'),
    ldt: seg('ldt'),
    gdt: dt(kvm_sregs.gdt),
    idt: dt(kvm_sregs.idt),
    cr0: u64(kvm_sregs.cr0),
    cr2: u64(kvm_sregs.cr2),
    cr3: u64(kvm_sregs.cr3),
    cr4: u64(kvm_sregs.cr4),
    cr8: u64(kvm_sregs.cr8),
    efer: u64(kvm_sregs.efer),
    apicBase: u64(kvm_sregs.apic_base),
    interruptBitmap: [u64(bm), u64(bm + 8), u64(bm + 16), u64(bm + 24)],
  }
}

/** Sregs -> struct kvm_sregs. */
export function encodeSregs(sregs: Sregs): Uint8Array {
  const S = 'KVM_SET_SREGS'
  const s = object<Sregs>(S, 'sregs', sregs)
  const b = new Uint8Array(kvm_sregs.size)
  const v = view(b)
  for (const n of SEGMENTS) encodeSegment(v, kvm_sregs[n], `sregs.${n}`, s[n])
  for (const n of ['gdt', 'idt'] as const) {
    const t = object<DescriptorTable>(S, `sregs.${n}`, s[n])
    v.setBigUint64(kvm_sregs[n] + kvm_dtable.base, u64Big(S, `sregs.${n}.base`, t.base), true)
    v.setUint16(kvm_sregs[n] + kvm_dtable.limit, uint(S, `sregs.${n}.limit`, t.limit, 16), true)
  }
  const u64 = (at: number, name: string, x: unknown) =>
    v.setBigUint64(at, u64Big(S, `sregs.${name}`, x), true)
  u64(kvm_sregs.cr0, 'cr0', s.cr0)
  u64(kvm_sregs.cr2, 'cr2', s.cr2)
  u64(kvm_sregs.cr3, 'cr3', s.cr3)
  u64(kvm_sregs.cr4, 'cr4', s.cr4)
  u64(kvm_sregs.cr8, 'cr8', s.cr8)
  u64(kvm_sregs.efer, 'efer', s.efer)
  u64(kvm_sregs.apic_base, 'apicBase', s.apicBase)
  const bitmap = array<bigint>(S, 'sregs.interruptBitmap', s.interruptBitmap, 4)
  bitmap.forEach((w, i) => {
    u64(kvm_sregs.interrupt_bitmap + 8 * i, `interruptBitmap[${i}]`, w)
  })
  return b
}

/** struct kvm_fpu -> Fpu. */
export function decodeFpu(b: Uint8Array): Fpu {
  const v = view(b)
  const chunks = (at: number, n: number) =>
    Array.from({ length: n }, (_, i) => b.slice(at + 16 * i, at + 16 * (i + 1)))
  return {
    fpr: chunks(kvm_fpu.fpr, 8),
    fcw: v.getUint16(kvm_fpu.fcw, true),
    fsw: v.getUint16(kvm_fpu.fsw, true),
    ftwx: v.getUint8(kvm_fpu.ftwx),
    lastOpcode: v.getUint16(kvm_fpu.last_opcode, true),
    lastIp: v.getBigUint64(kvm_fpu.last_ip, true),
    lastDp: v.getBigUint64(kvm_fpu.last_dp, true),
    xmm: chunks(kvm_fpu.xmm, 16),
    mxcsr: v.getUint32(kvm_fpu.mxcsr, true),
  }
}

/** Fpu -> struct kvm_fpu. Registers missing from `fpr` / `xmm` are written as zero. */
export function encodeFpu(fpu: Fpu): Uint8Array {
  const S = 'KVM_SET_FPU'
  const f = object<Fpu>(S, 'fpu', fpu)
  const b = new Uint8Array(kvm_fpu.size)
  const v = view(b)
  array<Uint8Array>(S, 'fpu.fpr', f.fpr, 8).forEach((r, i) => {
    b.set(bytes(S, `fpu.fpr[${i}]`, r).subarray(0, 16), kvm_fpu.fpr + 16 * i)
  })
  array<Uint8Array>(S, 'fpu.xmm', f.xmm, 16).forEach((r, i) => {
    b.set(bytes(S, `fpu.xmm[${i}]`, r).subarray(0, 16), kvm_fpu.xmm + 16 * i)
  })
  v.setUint16(kvm_fpu.fcw, uint(S, 'fpu.fcw', f.fcw, 16), true)
  v.setUint16(kvm_fpu.fsw, uint(S, 'fpu.fsw', f.fsw, 16), true)
  v.setUint8(kvm_fpu.ftwx, uint(S, 'fpu.ftwx', f.ftwx, 8))
  v.setUint16(kvm_fpu.last_opcode, uint(S, 'fpu.lastOpcode', f.lastOpcode, 16), true)
  v.setBigUint64(kvm_fpu.last_ip, u64Big(S, 'fpu.lastIp', f.lastIp), true)
  v.setBigUint64(kvm_fpu.last_dp, u64Big(S, 'fpu.lastDp', f.lastDp), true)
  v.setUint32(kvm_fpu.mxcsr, uint(S, 'fpu.mxcsr', f.mxcsr), true)
  return b
}

/** struct kvm_msrs with one entry per MSR (data 0 for reads). */
export function encodeMsrs(msrs: readonly MsrEntry[]): Uint8Array {
  const S = 'KVM_SET_MSRS'
  const entries = array<MsrEntry>(S, 'entries', msrs)
  const b = new Uint8Array(kvm_msrs.size + entries.length * kvm_msr_entry.size)
  const v = view(b)
  v.setUint32(kvm_msrs.nmsrs, entries.length, true)
  entries.forEach((entry, i) => {
    const e = object<MsrEntry>(S, `entries[${i}]`, entry)
    const at = kvm_msrs.entries + i * kvm_msr_entry.size
    v.setUint32(at + kvm_msr_entry.index, uint(S, `entries[${i}].index`, e.index), true)
    v.setBigUint64(at + kvm_msr_entry.data, u64Big(S, `entries[${i}].data`, e.data), true)
  })
  return b
}

/** The first `count` entries of a struct kvm_msrs. */
export function decodeMsrs(b: Uint8Array, count: number): MsrEntry[] {
  const v = view(b)
  return Array.from({ length: count }, (_, i) => {
    const at = kvm_msrs.entries + i * kvm_msr_entry.size
    return {
      index: v.getUint32(at + kvm_msr_entry.index, true),
      data: v.getBigUint64(at + kvm_msr_entry.data, true),
    }
  })
}

const CPUID_FIELDS = ['function', 'index', 'flags', 'eax', 'ebx', 'ecx', 'edx'] as const

// Register values are often built with bit operations, which give negative int32s: a value in
// -2^31..-1 is taken as its u32 bits; anything else is left for the range check to refuse.
function asU32(x: unknown): unknown {
  return typeof x === 'number' && Number.isInteger(x) && x < 0 && x >= -(2 ** 31) ? x >>> 0 : x
}

/** struct kvm_cpuid2 holding `entries`, or room for `entries` entries when it is a number. */
export function encodeCpuid(entries: readonly CpuidEntry[] | number): Uint8Array {
  const S = 'KVM_SET_CPUID2'
  const list = typeof entries === 'number' ? [] : array<CpuidEntry>(S, 'entries', entries, 4096)
  const n =
    typeof entries === 'number' ? uint('KVM_GET_SUPPORTED_CPUID', 'room', entries) : list.length
  const b = new Uint8Array(kvm_cpuid2.size + n * kvm_cpuid_entry2.size)
  const v = view(b)
  v.setUint32(kvm_cpuid2.nent, n, true)
  list.forEach((entry, i) => {
    const e = object<CpuidEntry>(S, `entries[${i}]`, entry)
    const at = kvm_cpuid2.entries + i * kvm_cpuid_entry2.size
    for (const f of CPUID_FIELDS) {
      v.setUint32(at + kvm_cpuid_entry2[f], uint(S, `entries[${i}].${f}`, asU32(e[f])), true)
    }
  })
  return b
}

/** The entries of a struct kvm_cpuid2 (as many as its nent says). */
export function decodeCpuid(b: Uint8Array): CpuidEntry[] {
  const v = view(b)
  const n = v.getUint32(kvm_cpuid2.nent, true)
  return Array.from({ length: n }, (_, i) => {
    const at = kvm_cpuid2.entries + i * kvm_cpuid_entry2.size
    return {
      function: v.getUint32(at + kvm_cpuid_entry2.function, true),
      index: v.getUint32(at + kvm_cpuid_entry2.index, true),
      flags: v.getUint32(at + kvm_cpuid_entry2.flags, true),
      eax: v.getUint32(at + kvm_cpuid_entry2.eax, true),
      ebx: v.getUint32(at + kvm_cpuid_entry2.ebx, true),
      ecx: v.getUint32(at + kvm_cpuid_entry2.ecx, true),
      edx: v.getUint32(at + kvm_cpuid_entry2.edx, true),
    }
  })
}
