// A routing table kept in the form KVM_SET_GSI_ROUTING takes: struct kvm_irq_routing, its
// 48-byte entries ordered by GSI (routes of one GSI in the order they were added). The encoded
// buffer is the only copy, so "bytes ready for KVM" costs nothing, and changing one route
// rewrites one entry in place instead of re-encoding thousands (QEMU and Firecracker rebuild
// the whole table on every change). An insert or a removal moves the entries after it with one
// memmove (copyWithin), which keeps the GSI order. The GSI words of the entries double as the
// sorted index: a binary search finds a GSI's entries.
//
// KVM itself needs no order (kvm_set_irq_routing hashes each entry onto its GSI); GSI order
// keeps the bytes identical to encodeRouting(routes()) and the kernel's error, if any, on the
// same entry the validator names.
import { KVM_IRQ_ROUTING, KVM_IRQ_ROUTING_ENTRY } from '@tsvmm/kvm-sys/abi'
import { decodeRouting, encodedSize, encodeRouting } from './codec.js'
import type { RoutingEntry } from './entry.js'

const HEADER_WORDS = KVM_IRQ_ROUTING.size / 4
const ENTRY_WORDS = KVM_IRQ_ROUTING_ENTRY.size / 4
/** Room for the default irqchip table and a few devices before the first growth. */
const INITIAL_CAPACITY = 64

/** One entry encoded on its own: the 8-byte header plus 48 bytes, as encodeRouting writes it. */
const single = new Uint8Array(encodedSize(1))
const singleWords = new Uint32Array(single.buffer)

export class EncodedTable {
  #bytes: Uint8Array
  #words: Uint32Array
  #count = 0

  constructor(capacity = INITIAL_CAPACITY) {
    this.#bytes = new Uint8Array(encodedSize(capacity))
    this.#words = new Uint32Array(this.#bytes.buffer)
  }

  /** Number of entries. */
  get count(): number {
    return this.#count
  }

  /** struct kvm_irq_routing of the entries: a view of the table's own buffer. */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, encodedSize(this.#count))
  }

  /** Makes this table a copy of `other` (one memcpy). */
  copyFrom(other: EncodedTable): void {
    this.#reserve(other.#count)
    const words = HEADER_WORDS + other.#count * ENTRY_WORDS
    this.#words.set(other.#words.subarray(0, words))
    this.#count = other.#count
  }

  /** Index of the first entry whose GSI is not below `gsi` (`count` if none). */
  lowerBound(gsi: number): number {
    const w = this.#words
    let lo = 0
    let hi = this.#count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((w[HEADER_WORDS + mid * ENTRY_WORDS] as number) < gsi) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** The entries of `gsi`: indexes [start, end). */
  range(gsi: number): [start: number, end: number] {
    const start = this.lowerBound(gsi)
    let end = start
    const w = this.#words
    while (end < this.#count && w[HEADER_WORDS + end * ENTRY_WORDS] === gsi) end++
    return [start, end]
  }

  /** True when `gsi` has an entry. */
  has(gsi: number): boolean {
    const at = this.lowerBound(gsi)
    return at < this.#count && this.#words[HEADER_WORDS + at * ENTRY_WORDS] === gsi
  }

  /** Entries [start, end) decoded (new objects, as decodeRouting returns them). */
  entries(start = 0, end = this.#count): RoutingEntry[] {
    if (start >= end) return []
    const from = HEADER_WORDS + start * ENTRY_WORDS
    const to = HEADER_WORDS + end * ENTRY_WORDS
    const view = new Uint8Array(encodedSize(end - start))
    const words = new Uint32Array(view.buffer)
    words[0] = end - start
    words.set(this.#words.subarray(from, to), HEADER_WORDS)
    return decodeRouting(view)
  }

  /** Writes `entry` (already checked) over entry `index`. */
  write(index: number, entry: RoutingEntry): void {
    encodeRouting([entry], single)
    const at = HEADER_WORDS + index * ENTRY_WORDS
    this.#words.set(singleWords.subarray(HEADER_WORDS, HEADER_WORDS + ENTRY_WORDS), at)
  }

  /** Inserts `entry` (already checked) before entry `index`; later entries move up one. */
  insert(index: number, entry: RoutingEntry): void {
    this.#reserve(this.#count + 1)
    const at = HEADER_WORDS + index * ENTRY_WORDS
    const end = HEADER_WORDS + this.#count * ENTRY_WORDS
    if (index < this.#count) this.#words.copyWithin(at + ENTRY_WORDS, at, end)
    this.#count++
    this.#words[0] = this.#count
    this.write(index, entry)
  }

  /** Removes entries [start, end); later entries move down. */
  remove(start: number, end: number): void {
    if (start >= end) return
    const w = this.#words
    w.copyWithin(
      HEADER_WORDS + start * ENTRY_WORDS,
      HEADER_WORDS + end * ENTRY_WORDS,
      HEADER_WORDS + this.#count * ENTRY_WORDS,
    )
    this.#count -= end - start
    w[0] = this.#count
  }

  #reserve(count: number): void {
    if (encodedSize(count) <= this.#bytes.byteLength) return
    const capacity = Math.max(count, 2 * ((this.#words.length - HEADER_WORDS) / ENTRY_WORDS))
    const bytes = new Uint8Array(encodedSize(capacity))
    bytes.set(this.#bytes.subarray(0, encodedSize(this.#count)))
    this.#bytes = bytes
    this.#words = new Uint32Array(bytes.buffer)
  }
}
