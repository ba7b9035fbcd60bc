// copy_from_guest and copy_to_guest for a hypercall's arguments: guest virtual addresses are
// walked through the calling vCPU's page tables (boot/paging.ts) and every access is checked to
// lie in guest RAM, so a bad pointer becomes -EFAULT and never an exception.
import type { GuestMemory } from '@tsvmm/guest-memory'
import { type PagingState, translateRange } from '../boot/paging.js'

/** Guest memory as one vCPU's virtual addresses see it. */
export class GuestCopy {
  readonly #memory: GuestMemory
  readonly #paging: PagingState

  constructor(memory: GuestMemory, paging: PagingState) {
    this.#memory = memory
    this.#paging = paging
  }

  /** The GPA of a `size`-byte argument at guest virtual `gva`, or null (-EFAULT). */
  argGpa(gva: bigint, size: number): number | null {
    const gpa = translateRange(this.#memory, this.#paging, gva, size)
    return gpa !== null && this.#memory.contains(gpa, 1) ? gpa : null
  }

  /** copy_from_guest of `size` bytes, or null. */
  read(gva: bigint, size: number): DataView | null {
    const gpa = translateRange(this.#memory, this.#paging, gva, size)
    if (gpa === null || !this.#memory.contains(gpa, size)) return null
    const b = this.#memory.read(gpa, size)
    return new DataView(b.buffer, b.byteOffset, b.byteLength)
  }

  /** copy_to_guest; false when the destination is not writable RAM. */
  write(gva: bigint, bytes: Uint8Array): boolean {
    const gpa = translateRange(this.#memory, this.#paging, gva, bytes.length)
    if (gpa === null || !this.#memory.contains(gpa, bytes.length)) return false
    this.#memory.write(gpa, bytes)
    return true
  }

  /** A NUL-terminated `text` in a `size`-byte buffer at `gva` (cut to fit); false as write. */
  writeString(gva: bigint, text: string, size: number): boolean {
    const bytes = new Uint8Array(size)
    bytes.set(new TextEncoder().encode(text).subarray(0, size - 1))
    return this.write(gva, bytes)
  }
}
