import { GuestMemory } from '@tsvmm/guest-memory'
import { describe, expect, it } from 'vitest'
import {
  BOOT_AREA_END,
  BOOT_LAYOUT,
  bootRegisters,
  gdtEntries,
  writeBootStructures,
} from '../../src/boot/boot.js'
import { translate, translateRange } from '../../src/boot/paging.js'

const ram = (mib: number) => new GuestMemory([{ gpa: 0, bytes: new Uint8Array(mib * 1048576) }])

describe('64-bit boot', () => {
  const memory = ram(4)
  writeBootStructures(memory, 64)
  const regs = bootRegisters(64, 0x100000)
  const paging = { cr0: regs.cr0, cr3: regs.cr3, cr4: regs.cr4, efer: regs.efer }

  it('enters long mode with paging and a 64-bit code segment at the entry point', () => {
    expect(regs.rip).toBe(0x100000n)
    expect(regs.cr0 & (1n | (1n << 31n))).toBe(1n | (1n << 31n))
    expect(regs.efer & 0x500n).toBe(0x500n)
    expect(regs.cs).toMatchObject({ selector: 8, l: 1, db: 0, present: 1, type: 0xb })
    expect(regs.data).toMatchObject({ selector: 0x10, db: 1, l: 0 })
    expect(regs.gdt).toEqual({ base: BigInt(BOOT_LAYOUT.gdt), limit: 31 })
  })

  it('writes the GDT the segments describe', () => {
    gdtEntries(64).forEach((e, i) => {
      expect(memory.readU64(BOOT_LAYOUT.gdt + 8 * i)).toBe(e)
    })
    // The code descriptor has L=1 (bit 53) and D=0 (bit 54).
    expect((memory.readU64(BOOT_LAYOUT.gdt + 8) >> 53n) & 3n).toBe(1n)
  })

  it('identity-maps the first 4 GiB, the local APIC included', () => {
    for (const gva of [
      0n,
      0x100000n,
      0x1234567n,
      0x3fff_ffffn,
      0x8000_0000n,
      0xfee0_00b0n,
      0xffff_ffffn,
    ])
      expect(translate(memory, paging, gva)).toBe(gva)
    expect(translate(memory, paging, 0x1_0000_0000n)).toBeNull()
  })

  it('keeps its structures in the boot area', () => {
    expect(BOOT_LAYOUT.pd + 4 * 0x1000).toBeLessThanOrEqual(BOOT_AREA_END)
  })
})

describe('32-bit boot', () => {
  it('enters flat protected mode without paging', () => {
    const memory = ram(2)
    writeBootStructures(memory, 32)
    const regs = bootRegisters(32, 0x100000)
    expect(regs.cr0 & (1n << 31n)).toBe(0n)
    expect(regs.efer).toBe(0n)
    expect(regs.cs).toMatchObject({ selector: 8, l: 0, db: 1 })
    expect(memory.readU64(BOOT_LAYOUT.gdt + 8)).toBe(0x00cf9a000000ffffn)
    const paging = { cr0: regs.cr0, cr3: regs.cr3, cr4: regs.cr4, efer: regs.efer }
    expect(translate(memory, paging, 0xfffff000n)).toBe(0xfffff000n)
  })
})

describe('page walks', () => {
  it('walks 4 KiB pages and refuses non-contiguous ranges', () => {
    const memory = ram(2)
    // PML4 at 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000; VA 0x400000 -> PA 0x9000,
    // VA 0x401000 -> PA 0x7000 (not contiguous), VA 0x402000 unmapped.
    memory.writeU64(0x1000, 0x2003n)
    memory.writeU64(0x2000, 0x3003n)
    memory.writeU64(0x3000 + 8 * 2, 0x4003n)
    memory.writeU64(0x4000, 0x9003n)
    memory.writeU64(0x4008, 0x7003n)
    const s = { cr0: 0x80000011n, cr3: 0x1000n, cr4: 0x20n, efer: 0x500n }
    expect(translate(memory, s, 0x400123n)).toBe(0x9123n)
    expect(translate(memory, s, 0x401000n)).toBe(0x7000n)
    expect(translate(memory, s, 0x402000n)).toBeNull()
    expect(translateRange(memory, s, 0x400010n, 8)).toBe(0x9010)
    expect(translateRange(memory, s, 0x400ffcn, 8)).toBeNull()
    expect(translateRange(memory, s, 0x401ffcn, 8)).toBeNull()
  })

  it('walks 32-bit and PAE tables', () => {
    const memory = ram(2)
    // 32-bit: PD at 0x1000, PDE 1 -> PT 0x2000, PTE 3 -> 0x5000
    memory.writeU32(0x1000 + 4, 0x2003)
    memory.writeU32(0x2000 + 4 * 3, 0x5003)
    expect(
      translate(memory, { cr0: 0x80000001n, cr3: 0x1000n, cr4: 0n, efer: 0n }, 0x403456n),
    ).toBe(0x5456n)
    // PAE: PDPT at 0x3000, entry 0 -> PD 0x4000, PDE 1 is a 2 MiB page at 0x600000
    memory.writeU64(0x3000, 0x4001n)
    memory.writeU64(0x4000 + 8, 0x600083n)
    expect(
      translate(memory, { cr0: 0x80000001n, cr3: 0x3000n, cr4: 0x20n, efer: 0n }, 0x212345n),
    ).toBe(0x612345n)
  })

  it('treats tables outside RAM as unmapped', () => {
    const memory = ram(2)
    memory.writeU64(0x1000, 0x7fff_f003n)
    const s = { cr0: 0x80000011n, cr3: 0x1000n, cr4: 0x20n, efer: 0x500n }
    expect(translate(memory, s, 0x1000n)).toBeNull()
    expect(translate(memory, { ...s, cr3: 0x7_0000_0000n }, 0x1000n)).toBeNull()
  })
})
