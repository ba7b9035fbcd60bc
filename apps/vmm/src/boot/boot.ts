// How a tsvmm vCPU starts (tools/guests/README.md, "Boot contract"): the VMM writes a GDT and, for
// 64-bit guests, identity page tables for the first 4 GiB into its boot area below 0x10000, then
// enters every vCPU at the ELF entry in long mode or in flat 32-bit protected mode.
import type { GuestMemory } from '@tsvmm/guest-memory'
import type { Segment } from '@tsvmm/kvm-sys'

/** The VMM's boot area: guest images must load above it. */
export const BOOT_AREA_END = 0x10000
/** Where the boot structures go. */
export const BOOT_LAYOUT = {
  gdt: 0x500,
  pml4: 0x1000,
  pdpt: 0x2000,
  /** Four page directories of 2 MiB pages: 0x3000 .. 0x6fff. */
  pd: 0x3000,
} as const

/** A segment register as KVM_SET_SREGS takes it (struct kvm_segment). */
export type SegmentState = Segment

/** The registers a vCPU starts with. */
export interface BootRegisters {
  rip: bigint
  rsp: bigint
  rflags: bigint
  cr0: bigint
  cr3: bigint
  cr4: bigint
  efer: bigint
  cs: SegmentState
  /** ds, es, fs, gs, ss */
  data: SegmentState
  tr: SegmentState
  ldt: SegmentState
  gdt: { base: bigint; limit: number }
  idt: { base: bigint; limit: number }
}

const CR0_PE = 1n
const CR0_MP = 1n << 1n
const CR0_ET = 1n << 4n
const CR0_NE = 1n << 5n
const CR0_WP = 1n << 16n
const CR0_PG = 1n << 31n
const CR4_PAE = 1n << 5n
const EFER_LME = 1n << 8n
const EFER_LMA = 1n << 10n

const seg = (o: Partial<SegmentState>): SegmentState => ({
  base: 0n,
  limit: 0xffffffff,
  selector: 0,
  type: 0,
  present: 1,
  dpl: 0,
  db: 0,
  s: 1,
  l: 0,
  g: 1,
  avl: 0,
  unusable: 0,
  ...o,
})

/** GDT entries: null, 0x08 code (64- or 32-bit), 0x10 data, 0x18 TSS placeholder. */
export function gdtEntries(width: 64 | 32): bigint[] {
  return [
    0n,
    width === 64 ? 0x00af9a000000ffffn : 0x00cf9a000000ffffn,
    0x00cf92000000ffffn,
    0x00008b0000000067n,
  ]
}

/** Writes the boot GDT, and for 64-bit guests the identity map of the first 4 GiB. */
export function writeBootStructures(memory: GuestMemory, width: 64 | 32): void {
  memory.fill(0, BOOT_AREA_END)
  gdtEntries(width).forEach((e, i) => {
    memory.writeU64(BOOT_LAYOUT.gdt + 8 * i, e)
  })
  if (width !== 64) return
  const P_RW = 0x3n
  const PS = 0x80n
  memory.writeU64(BOOT_LAYOUT.pml4, BigInt(BOOT_LAYOUT.pdpt) | P_RW)
  for (let g = 0; g < 4; g++) {
    const pd = BOOT_LAYOUT.pd + g * 0x1000
    memory.writeU64(BOOT_LAYOUT.pdpt + 8 * g, BigInt(pd) | P_RW)
    for (let i = 0; i < 512; i++) {
      const addr = (BigInt(g) << 30n) | (BigInt(i) << 21n)
      memory.writeU64(pd + 8 * i, addr | P_RW | PS)
    }
  }
}

/** The registers every vCPU starts with, entering at `entry`. */
export function bootRegisters(width: 64 | 32, entry: number): BootRegisters {
  const long = width === 64
  return {
    rip: BigInt(entry),
    rsp: 0n,
    rflags: 0x2n,
    cr0: long ? CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG : CR0_PE | CR0_ET | CR0_NE,
    cr3: long ? BigInt(BOOT_LAYOUT.pml4) : 0n,
    cr4: long ? CR4_PAE : 0n,
    efer: long ? EFER_LME | EFER_LMA : 0n,
    cs: seg({ selector: 0x08, type: 0xb, l: long ? 1 : 0, db: long ? 0 : 1 }),
    data: seg({ selector: 0x10, type: 0x3, db: 1 }),
    tr: seg({ selector: 0x18, type: 0xb, s: 0, limit: 0x67, g: 0 }),
    ldt: seg({ selector: 0, type: 0x2, s: 0, present: 0, limit: 0xffff, g: 0, unusable: 1 }),
    gdt: { base: BigInt(BOOT_LAYOUT.gdt), limit: 4 * 8 - 1 },
    idt: { base: 0n, limit: 0 },
  }
}
