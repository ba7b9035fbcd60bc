// x86 vCPU state as plain objects, and its encoding in the KVM structs (offsets from abi.ts).
// u64 registers and addresses are bigint; everything narrower is a number.
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

/** General-purpose registers (struct kvm_regs). */
export interface Regs {
  /** kvm_regs.rax: accumulator; the hypercall number and return value. */
  rax: bigint
  /** kvm_regs.rbx. */
  rbx: bigint
  /** kvm_regs.rcx: also the count of REP string instructions. */
  rcx: bigint
  /** kvm_regs.rdx. */
  rdx: bigint
  /** kvm_regs.rsi: the source index. */
  rsi: bigint
  /** kvm_regs.rdi: the destination index. */
  rdi: bigint
  /** kvm_regs.rsp: the stack pointer. */
  rsp: bigint
  /** kvm_regs.rbp: the frame pointer. */
  rbp: bigint
  /** kvm_regs.r8. */
  r8: bigint
  /** kvm_regs.r9. */
  r9: bigint
  /** kvm_regs.r10. */
  r10: bigint
  /** kvm_regs.r11. */
  r11: bigint
  /** kvm_regs.r12. */
  r12: bigint
  /** kvm_regs.r13. */
  r13: bigint
  /** kvm_regs.r14. */
  r14: bigint
  /** kvm_regs.r15. */
  r15: bigint
  /** kvm_regs.rip: the instruction pointer. */
  rip: bigint
  /** kvm_regs.rflags: the flags register; bit 1 must be set. */
  rflags: bigint
}

/** A segment register (struct kvm_segment); the flag fields are 0 or 1, `type` 4 bits. */
export interface Segment {
  /** kvm_segment.base: the segment base address. */
  base: bigint
  /** kvm_segment.limit: the limit in bytes (already scaled when `g` is set). */
  limit: number
  /** kvm_segment.selector: the visible selector (index, TI, RPL). */
  selector: number
  /** kvm_segment.type: the descriptor type (e.g. 0xb: execute/read code, accessed). */
  type: number
  /** kvm_segment.present: the P bit. */
  present: number
  /** kvm_segment.dpl: the descriptor privilege level, 0-3. */
  dpl: number
  /** kvm_segment.db: the D/B bit (32-bit operands or stack). */
  db: number
  /** kvm_segment.s: 1 for a code or data segment, 0 for a system one (TSS, LDT). */
  s: number
  /** kvm_segment.l: the L bit (64-bit code). */
  l: number
  /** kvm_segment.g: the G bit (limit counts 4 KiB pages in the descriptor). */
  g: number
  /** kvm_segment.avl: the software-available bit. */
  avl: number
  /** kvm_segment.unusable: the segment is not loaded (a null selector). */
  unusable: number
}

/** GDTR or IDTR (struct kvm_dtable). */
export interface DescriptorTable {
  /** kvm_dtable.base: the table's linear address. */
  base: bigint
  /** kvm_dtable.limit: the table's size in bytes minus one. */
  limit: number
}

/** Special registers (struct kvm_sregs). */
export interface Sregs {
  /** kvm_sregs.cs: the code segment. */
  cs: Segment
  /** kvm_sregs.ds: the data segment. */
  ds: Segment
  /** kvm_sregs.es. */
  es: Segment
  /** kvm_sregs.fs. */
  fs: Segment
  /** kvm_sregs.gs. */
  gs: Segment
  /** kvm_sregs.ss: the stack segment. */
  ss: Segment
  /** kvm_sregs.tr: the task register. */
  tr: Segment
  /** kvm_sregs.ldt: the local descriptor table register. */
  ldt: Segment
  /** kvm_sregs.gdt: GDTR. */
  gdt: DescriptorTable
  /** kvm_sregs.idt: IDTR. */
  idt: DescriptorTable
  /** kvm_sregs.cr0: PE, PG and the other mode bits. */
  cr0: bigint
  /** kvm_sregs.cr2: the last page-fault linear address. */
  cr2: bigint
  /** kvm_sregs.cr3: the page-table root. */
  cr3: bigint
  /** kvm_sregs.cr4: PAE, PSE and the other extension bits. */
  cr4: bigint
  /** kvm_sregs.cr8: the task priority register. */
  cr8: bigint
  /** kvm_sregs.efer: the IA32_EFER MSR (LME, LMA, SCE, NXE). */
  efer: bigint
  /** kvm_sregs.apic_base: the IA32_APIC_BASE MSR. */
  apicBase: bigint
  /** Pending external interrupt as a 256-bit bitmap, four u64 words. */
  interruptBitmap: [bigint, bigint, bigint, bigint]
}

/** x87 and SSE state (struct kvm_fpu). */
export interface Fpu {
  /** ST0-ST7, 16 bytes each (80-bit values in the low 10). */
  fpr: Uint8Array[]
  /** kvm_fpu.fcw: the x87 control word (0x37f after FNINIT). */
  fcw: number
  /** kvm_fpu.fsw: the x87 status word. */
  fsw: number
  /** kvm_fpu.ftwx: the abridged tag word, one bit per register (1 = valid). */
  ftwx: number
  /** kvm_fpu.last_opcode: FOP, the last x87 opcode. */
  lastOpcode: number
  /** kvm_fpu.last_ip: FIP, the last x87 instruction pointer. */
  lastIp: bigint
  /** kvm_fpu.last_dp: FDP, the last x87 operand pointer. */
  lastDp: bigint
  /** XMM0-XMM15, 16 bytes each. */
  xmm: Uint8Array[]
  /** kvm_fpu.mxcsr: SSE control and status (0x1f80 at reset). */
  mxcsr: number
}

/** One MSR (struct kvm_msr_entry). */
export interface MsrEntry {
  /** kvm_msr_entry.index: the MSR number. */
  index: number
  /** kvm_msr_entry.data: the MSR value. */
  data: bigint
}

/** One CPUID leaf (struct kvm_cpuid_entry2). */
export interface CpuidEntry {
  /** kvm_cpuid_entry2.function: the leaf (EAX input). */
  function: number
  /** kvm_cpuid_entry2.index: the sub-leaf (ECX input). */
  index: number
  /** KVM_CPUID_FLAG_SIGNIFCANT_INDEX when `index` selects a sub-leaf. */
  flags: number
  /** kvm_cpuid_entry2.eax: EAX output. */
  eax: number
  /** kvm_cpuid_entry2.ebx: EBX output. */
  ebx: number
  /** kvm_cpuid_entry2.ecx: ECX output. */
  ecx: number
  /** kvm_cpuid_entry2.edx: EDX output. */
  edx: number
}

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

/** Regs -> struct kvm_regs. */
export function encodeRegs(r: Regs): Uint8Array {
  const b = new Uint8Array(kvm_regs.size)
  const v = view(b)
  for (const n of REG_NAMES) v.setBigUint64(kvm_regs[n], BigInt.asUintN(64, r[n]), true)
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

function encodeSegment(v: DataView, at: number, s: Segment): void {
  v.setBigUint64(at + kvm_segment.base, BigInt.asUintN(64, s.base), true)
  v.setUint32(at + kvm_segment.limit, s.limit, true)
  v.setUint16(at + kvm_segment.selector, s.selector, true)
  v.setUint8(at + kvm_segment.type, s.type)
  v.setUint8(at + kvm_segment.present, s.present)
  v.setUint8(at + kvm_segment.dpl, s.dpl)
  v.setUint8(at + kvm_segment.db, s.db)
  v.setUint8(at + kvm_segment.s, s.s)
  v.setUint8(at + kvm_segment.l, s.l)
  v.setUint8(at + kvm_segment.g, s.g)
  v.setUint8(at + kvm_segment.avl, s.avl)
  v.setUint8(at + kvm_segment.unusable, s.unusable)
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
export function encodeSregs(s: Sregs): Uint8Array {
  const b = new Uint8Array(kvm_sregs.size)
  const v = view(b)
  for (const n of SEGMENTS) encodeSegment(v, kvm_sregs[n], s[n])
  for (const [at, t] of [
    [kvm_sregs.gdt, s.gdt],
    [kvm_sregs.idt, s.idt],
  ] as const) {
    v.setBigUint64(at + kvm_dtable.base, BigInt.asUintN(64, t.base), true)
    v.setUint16(at + kvm_dtable.limit, t.limit, true)
  }
  const u64 = (at: number, x: bigint) => v.setBigUint64(at, BigInt.asUintN(64, x), true)
  u64(kvm_sregs.cr0, s.cr0)
  u64(kvm_sregs.cr2, s.cr2)
  u64(kvm_sregs.cr3, s.cr3)
  u64(kvm_sregs.cr4, s.cr4)
  u64(kvm_sregs.cr8, s.cr8)
  u64(kvm_sregs.efer, s.efer)
  u64(kvm_sregs.apic_base, s.apicBase)
  s.interruptBitmap.forEach((w, i) => {
    u64(kvm_sregs.interrupt_bitmap + 8 * i, w)
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
export function encodeFpu(f: Fpu): Uint8Array {
  const b = new Uint8Array(kvm_fpu.size)
  const v = view(b)
  f.fpr.slice(0, 8).forEach((r, i) => {
    b.set(r.subarray(0, 16), kvm_fpu.fpr + 16 * i)
  })
  f.xmm.slice(0, 16).forEach((r, i) => {
    b.set(r.subarray(0, 16), kvm_fpu.xmm + 16 * i)
  })
  v.setUint16(kvm_fpu.fcw, f.fcw, true)
  v.setUint16(kvm_fpu.fsw, f.fsw, true)
  v.setUint8(kvm_fpu.ftwx, f.ftwx)
  v.setUint16(kvm_fpu.last_opcode, f.lastOpcode, true)
  v.setBigUint64(kvm_fpu.last_ip, BigInt.asUintN(64, f.lastIp), true)
  v.setBigUint64(kvm_fpu.last_dp, BigInt.asUintN(64, f.lastDp), true)
  v.setUint32(kvm_fpu.mxcsr, f.mxcsr, true)
  return b
}

/** struct kvm_msrs with one entry per MSR (data 0 for reads). */
export function encodeMsrs(entries: readonly MsrEntry[]): Uint8Array {
  const b = new Uint8Array(kvm_msrs.size + entries.length * kvm_msr_entry.size)
  const v = view(b)
  v.setUint32(kvm_msrs.nmsrs, entries.length, true)
  entries.forEach((e, i) => {
    const at = kvm_msrs.entries + i * kvm_msr_entry.size
    v.setUint32(at + kvm_msr_entry.index, e.index, true)
    v.setBigUint64(at + kvm_msr_entry.data, BigInt.asUintN(64, e.data), true)
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

/** struct kvm_cpuid2 holding `entries`, or room for `entries` entries when it is a number. */
export function encodeCpuid(entries: readonly CpuidEntry[] | number): Uint8Array {
  const n = typeof entries === 'number' ? entries : entries.length
  const b = new Uint8Array(kvm_cpuid2.size + n * kvm_cpuid_entry2.size)
  const v = view(b)
  v.setUint32(kvm_cpuid2.nent, n, true)
  if (typeof entries !== 'number')
    entries.forEach((e, i) => {
      const at = kvm_cpuid2.entries + i * kvm_cpuid_entry2.size
      v.setUint32(at + kvm_cpuid_entry2.function, e.function, true)
      v.setUint32(at + kvm_cpuid_entry2.index, e.index, true)
      v.setUint32(at + kvm_cpuid_entry2.flags, e.flags, true)
      v.setUint32(at + kvm_cpuid_entry2.eax, e.eax >>> 0, true)
      v.setUint32(at + kvm_cpuid_entry2.ebx, e.ebx >>> 0, true)
      v.setUint32(at + kvm_cpuid_entry2.ecx, e.ecx >>> 0, true)
      v.setUint32(at + kvm_cpuid_entry2.edx, e.edx >>> 0, true)
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
