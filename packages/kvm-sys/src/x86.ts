// x86 vCPU state as plain objects (their encoding is in x86-codec.ts). u64 registers and
// addresses are raw 64-bit values, so bigint; everything narrower is a number.

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
