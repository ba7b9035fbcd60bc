// Guest virtual -> guest physical translation for hypercall arguments, by walking the guest's page
// tables in guest memory: none (paging off), 32-bit, PAE and 4-level long mode paging. Xen reads
// hypercall arguments by guest virtual address (copy_from_guest); KVM hands us that address.
import type { GuestMemory } from '@tsvmm/guest-memory'

/** The control registers a walk needs (from KVM_GET_SREGS). */
export interface PagingState {
  cr0: bigint
  cr3: bigint
  cr4: bigint
  efer: bigint
}

const CR0_PG = 1n << 31n
const CR4_PSE = 1n << 4n
const CR4_PAE = 1n << 5n
const EFER_LMA = 1n << 10n
const PTE_P = 1n
const PTE_PS = 1n << 7n
const ADDR_52 = ((1n << 52n) - 1n) & ~0xfffn

function readEntry(memory: GuestMemory, gpa: bigint, size: 4 | 8): bigint | null {
  const at = Number(gpa)
  if (!memory.contains(at, size)) return null
  return size === 8 ? memory.readU64(at) : BigInt(memory.readU32(at))
}

/** Translates one guest virtual address; null when it is not mapped (or a table is outside RAM). */
export function translate(memory: GuestMemory, s: PagingState, gva: bigint): bigint | null {
  if ((s.cr0 & CR0_PG) === 0n) return gva & 0xffff_ffffn
  if ((s.efer & EFER_LMA) !== 0n) {
    let table = s.cr3 & ADDR_52
    for (let level = 4; level >= 1; level--) {
      const shift = BigInt(12 + 9 * (level - 1))
      const e = readEntry(memory, table + ((gva >> shift) & 0x1ffn) * 8n, 8)
      if (e === null || (e & PTE_P) === 0n) return null
      if ((level === 3 || level === 2) && (e & PTE_PS) !== 0n) {
        const mask = (1n << shift) - 1n
        return (e & ADDR_52 & ~mask) | (gva & mask)
      }
      table = e & ADDR_52
    }
    return table | (gva & 0xfffn)
  }
  const va = gva & 0xffff_ffffn
  if ((s.cr4 & CR4_PAE) !== 0n) {
    const pdpte = readEntry(memory, (s.cr3 & 0xffff_ffe0n) + (va >> 30n) * 8n, 8)
    if (pdpte === null || (pdpte & PTE_P) === 0n) return null
    const pde = readEntry(memory, (pdpte & ADDR_52) + ((va >> 21n) & 0x1ffn) * 8n, 8)
    if (pde === null || (pde & PTE_P) === 0n) return null
    if ((pde & PTE_PS) !== 0n) return (pde & ADDR_52 & ~0x1f_ffffn) | (va & 0x1f_ffffn)
    const pte = readEntry(memory, (pde & ADDR_52) + ((va >> 12n) & 0x1ffn) * 8n, 8)
    if (pte === null || (pte & PTE_P) === 0n) return null
    return (pte & ADDR_52) | (va & 0xfffn)
  }
  const pde = readEntry(memory, (s.cr3 & 0xffff_f000n) + (va >> 22n) * 4n, 4)
  if (pde === null || (pde & PTE_P) === 0n) return null
  if ((pde & PTE_PS) !== 0n && (s.cr4 & CR4_PSE) !== 0n)
    return (pde & 0xffc0_0000n) | ((pde & 0x1f_e000n) << 19n) | (va & 0x3f_ffffn)
  const pte = readEntry(memory, (pde & 0xffff_f000n) + ((va >> 12n) & 0x3ffn) * 4n, 4)
  if (pte === null || (pte & PTE_P) === 0n) return null
  return (pte & 0xffff_f000n) | (va & 0xfffn)
}

/**
 * Translates `[gva, gva + length)` to one contiguous guest physical range: its start as a number,
 * or null when a page is unmapped or the pages are not physically contiguous (then Xen would copy
 * piecewise; tsvmm answers -EFAULT, which only a guest with scattered argument pages can see).
 */
export function translateRange(
  memory: GuestMemory,
  s: PagingState,
  gva: bigint,
  length: number,
): number | null {
  const start = translate(memory, s, gva)
  if (start === null) return null
  if (length > 1) {
    const lastVa = gva + BigInt(length - 1)
    if (lastVa >> 12n !== gva >> 12n) {
      const last = translate(memory, s, lastVa)
      if (last === null || last - start !== BigInt(length - 1)) return null
    }
  }
  return start <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(start) : null
}
