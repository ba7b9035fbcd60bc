// Byte-exact encoding of struct kvm_irq_routing (x86_64): an 8-byte header {nr, flags} and nr
// 48-byte entries {gsi, type, flags, pad, u[32]}, every unused byte zero, little-endian.
// The encoder is the hot path (a VMM re-sends the whole table on every change), so it writes
// 32-bit words into a caller-kept buffer; the decoder is strict and only throws RoutingError.
import {
  KVM_IRQ_ROUTING,
  KVM_IRQ_ROUTING_ENTRY,
  KVM_IRQ_ROUTING_HV_SINT,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_IRQ_ROUTING_S390_ADAPTER,
  KVM_IRQ_ROUTING_XEN_EVTCHN,
  KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
  KVM_MSI_VALID_DEVID,
} from '@tsvmm/kvm-sys/abi'
import { describe } from './describe.js'
import {
  entryShapeError,
  type MsiRoute,
  type RoutingEntry,
  type S390AdapterRoute,
  tableShapeError,
} from './entry.js'
import { RoutingError } from './errors.js'

// Imported bindings are live: each use in the hot loop costs a load and a hole check, so the
// encoder works from module-local copies.
const IRQCHIP = KVM_IRQ_ROUTING_IRQCHIP
const MSI = KVM_IRQ_ROUTING_MSI
const S390_ADAPTER = KVM_IRQ_ROUTING_S390_ADAPTER
const HV_SINT = KVM_IRQ_ROUTING_HV_SINT
const XEN_EVTCHN = KVM_IRQ_ROUTING_XEN_EVTCHN
const PRIO_2LEVEL = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL
const VALID_DEVID = KVM_MSI_VALID_DEVID
const HEADER_BYTES = KVM_IRQ_ROUTING.size
const ENTRY_BYTES = KVM_IRQ_ROUTING_ENTRY.size
const ENTRY_WORDS = ENTRY_BYTES / 4
const U64_MAX = 0xffff_ffff_ffff_ffffn

/** Uint32Array stores in host order; the ABI is x86_64's little-endian. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

let scratch = new Uint32Array(0)

/** Bytes of an encoded table of `count` entries: 8 + 48 * count. */
export function encodedSize(count: number): number {
  return HEADER_BYTES + ENTRY_BYTES * count
}

/**
 * Encodes `entries` as `struct kvm_irq_routing` for KVM_SET_GSI_ROUTING, byte-identical to what C
 * produces by zeroing the struct and assigning the fields.
 *
 * With `into`, the table is written into that buffer (which must hold `encodedSize(n)` bytes) and
 * the returned view covers exactly the table; keep the buffer to avoid a 196 KB allocation per
 * call for 4096 routes. If an entry cannot be encoded (a value that is not a u32/u64, an unknown
 * type) a RoutingError is thrown and the contents of `into` are unspecified.
 *
 * Encoding does not validate: tables KVM rejects (bad pins, s390 routes on x86, duplicate GSIs)
 * encode fine. Use `validateRouting` for the kernel's rules.
 */
export function encodeRouting(entries: readonly RoutingEntry[], into?: Uint8Array): Uint8Array {
  const notTable = tableShapeError(entries)
  if (notTable) throw notTable
  const count = entries.length
  const size = encodedSize(count)
  let out: Uint8Array
  if (into === undefined) {
    out = new Uint8Array(size)
  } else {
    // Only bytes: a Uint16Array (or any other view) would come back as the "encoded" table
    if (!(into instanceof Uint8Array)) {
      throw new RoutingError('buffer-truncated', `into ${describe(into)} is not a Uint8Array`)
    }
    if (into.byteLength < size) {
      throw new RoutingError(
        'buffer-truncated',
        `${count} entries need ${size} bytes, the buffer has ${into.byteLength}`,
        undefined,
        'ENOSPC',
      )
    }
    out = into.byteLength === size ? into : into.subarray(0, size)
  }
  const direct = HOST_IS_LITTLE_ENDIAN && (out.byteOffset & 3) === 0
  const words = direct
    ? new Uint32Array(out.buffer, out.byteOffset, size >>> 2)
    : scratchWords(size)
  // Zero everything once (a memset), then store only the words an entry uses: cheaper than
  // writing the zeros of each entry, and a reused buffer never leaks an earlier table.
  words.fill(0)
  words[0] = count
  try {
    writeEntries(words, entries, count)
  } catch (error) {
    // A null or undefined entry fails on its first property load (a TypeError); find it.
    if (error instanceof RoutingError) throw error
    throw firstShapeError(entries) ?? error
  }
  if (!direct) copyLittleEndian(words, out)
  return out
}

function scratchWords(size: number): Uint32Array {
  if (scratch.length < size >>> 2) scratch = new Uint32Array(size >>> 2)
  return scratch.subarray(0, size >>> 2)
}

function copyLittleEndian(words: Uint32Array, out: Uint8Array): void {
  for (let i = 0, b = 0; b < out.byteLength; i++, b += 4) {
    const v = words[i] as number
    out[b] = v & 0xff
    out[b + 1] = (v >>> 8) & 0xff
    out[b + 2] = (v >>> 16) & 0xff
    out[b + 3] = v >>> 24
  }
}

// The hot loop. Every type but s390 fills gsi and the first three union words, so those are
// loaded per type, checked together (one branch per entry) and stored once. The exact
// field-range error comes from entryShapeError on the slow path.
function writeEntries(w: Uint32Array, entries: readonly RoutingEntry[], count: number): void {
  for (let i = 0, o = HEADER_BYTES / 4; i < count; i++, o += ENTRY_WORDS) {
    const e = entries[i] as RoutingEntry
    // Each case loads and checks its own fields: there a load sees one object shape (after
    // the switch it would see all), and constant words need no check.
    switch (e.type) {
      case 'irqchip': {
        const { gsi, irqchip, pin } = e
        if (gsi >>> 0 !== gsi || irqchip >>> 0 !== irqchip || pin >>> 0 !== pin) {
          throw shapeError(e, i)
        }
        w[o] = gsi
        w[o + 1] = IRQCHIP
        w[o + 4] = irqchip
        w[o + 5] = pin
        break
      }
      case 'msi': {
        const { gsi, addressLo, addressHi, data, devid } = e
        if (
          gsi >>> 0 !== gsi ||
          addressLo >>> 0 !== addressLo ||
          addressHi >>> 0 !== addressHi ||
          data >>> 0 !== data
        ) {
          throw shapeError(e, i)
        }
        w[o] = gsi
        w[o + 1] = MSI
        w[o + 4] = addressLo
        w[o + 5] = addressHi
        w[o + 6] = data
        if (devid !== undefined) {
          if (devid >>> 0 !== devid) throw shapeError(e, i)
          w[o + 2] = VALID_DEVID
          w[o + 7] = devid
        }
        break
      }
      case 'hvSint': {
        const { gsi, vcpu, sint } = e
        if (gsi >>> 0 !== gsi || vcpu >>> 0 !== vcpu || sint >>> 0 !== sint) {
          throw shapeError(e, i)
        }
        w[o] = gsi
        w[o + 1] = HV_SINT
        w[o + 4] = vcpu
        w[o + 5] = sint
        break
      }
      case 'xenEvtchn': {
        const { gsi, port, vcpu, priority } = e
        if (gsi >>> 0 !== gsi || port >>> 0 !== port || vcpu >>> 0 !== vcpu) {
          throw shapeError(e, i)
        }
        w[o] = gsi
        w[o + 1] = XEN_EVTCHN
        w[o + 4] = port
        w[o + 5] = vcpu
        if (priority === undefined) {
          w[o + 6] = PRIO_2LEVEL
        } else {
          if (priority >>> 0 !== priority) throw shapeError(e, i)
          w[o + 6] = priority
        }
        break
      }
      case 's390Adapter':
        writeS390Adapter(w, o, e, i)
        break
      default:
        throw shapeError(e, i)
    }
  }
}

/** A u64 goes through here to reach the words: storing a bigint into a BigUint64Array does not
 * allocate, while `Number(v & 0xffff_ffffn)` allocates two BigInts per half. */
const u64 = new BigUint64Array(1)
const u64Words = new Uint32Array(u64.buffer)
/** Which word of `u64Words` holds the low half (host order). */
const LO = HOST_IS_LITTLE_ENDIAN ? 0 : 1
const HI = 1 - LO

function writeS390Adapter(w: Uint32Array, o: number, e: S390AdapterRoute, i: number): void {
  const { gsi, indAddr, summaryAddr, indOffset, summaryOffset, adapterId } = e
  if (
    gsi >>> 0 !== gsi ||
    summaryOffset >>> 0 !== summaryOffset ||
    adapterId >>> 0 !== adapterId ||
    !isU64(indAddr) ||
    !isU64(summaryAddr) ||
    !isU64(indOffset)
  ) {
    throw shapeError(e, i)
  }
  w[o] = gsi
  w[o + 1] = S390_ADAPTER
  u64[0] = indAddr
  w[o + 4] = u64Words[LO] as number
  w[o + 5] = u64Words[HI] as number
  u64[0] = summaryAddr
  w[o + 6] = u64Words[LO] as number
  w[o + 7] = u64Words[HI] as number
  u64[0] = indOffset
  w[o + 8] = u64Words[LO] as number
  w[o + 9] = u64Words[HI] as number
  w[o + 10] = summaryOffset
  w[o + 11] = adapterId
}

const isU64 = (v: bigint): boolean => typeof v === 'bigint' && v >= 0n && v <= U64_MAX

function firstShapeError(entries: readonly RoutingEntry[]): RoutingError | undefined {
  for (let i = 0; i < entries.length; i++) {
    const error = entryShapeError(entries[i], i)
    if (error) return error
  }
  return undefined
}

/** The precise error for an entry the fast path refused. */
function shapeError(e: unknown, i: number): RoutingError {
  return entryShapeError(e, i) ?? new RoutingError('entry-shape', 'entry cannot be encoded', i)
}

/**
 * Decodes a `struct kvm_irq_routing` buffer. Strict: a buffer shorter than its header or not a
 * whole number of entries, an `nr` that does not match the length, header flags, an unknown
 * entry type or flag, or a non-zero byte where the struct has padding is a RoutingError, and
 * nothing else is ever thrown. Decoded entries carry every field (`priority` included; `devid`
 * exactly when KVM_MSI_VALID_DEVID is set), so `encodeRouting(decodeRouting(b))` equals `b`.
 */
export function decodeRouting(bytes: Uint8Array): RoutingEntry[] {
  if (!(bytes instanceof Uint8Array)) {
    throw new RoutingError('buffer-truncated', 'the table must be a Uint8Array')
  }
  const length = bytes.byteLength
  if (length < HEADER_BYTES) {
    throw new RoutingError('buffer-truncated', `${length} bytes hold no header (8 bytes)`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, length)
  const word = (at: number): number => view.getUint32(at, true)
  const nr = word(KVM_IRQ_ROUTING.nr)
  const flags = word(KVM_IRQ_ROUTING.flags)
  if ((length - HEADER_BYTES) % ENTRY_BYTES !== 0) {
    throw new RoutingError(
      'buffer-truncated',
      `${length - HEADER_BYTES} bytes after the header are not a whole number of 48-byte entries`,
    )
  }
  const count = (length - HEADER_BYTES) / ENTRY_BYTES
  if (nr !== count) {
    throw new RoutingError('nr-mismatch', `header nr ${nr} but the buffer holds ${count} entries`)
  }
  if (flags !== 0) {
    throw new RoutingError('header-flags', `header flags 0x${flags.toString(16)} are not 0`)
  }
  const entries: RoutingEntry[] = new Array(count)
  for (let i = 0; i < count; i++) {
    entries[i] = decodeEntry(word, HEADER_BYTES + i * ENTRY_BYTES, i)
  }
  return entries
}

function decodeEntry(word: (at: number) => number, base: number, i: number): RoutingEntry {
  const at = (offset: number) => word(base + offset)
  const zeroFrom = (offset: number) => {
    for (let b = offset; b < ENTRY_BYTES; b += 4) {
      if (at(b) !== 0) {
        throw new RoutingError('reserved-bytes', `unused byte range at +${b} is not zero`, i)
      }
    }
  }
  const E = KVM_IRQ_ROUTING_ENTRY
  const gsi = at(E.gsi)
  const type = at(E.type)
  const flags = at(E.flags)
  if (at(E.pad) !== 0) throw new RoutingError('reserved-bytes', 'pad is not zero', i)
  const allowedFlags = type === KVM_IRQ_ROUTING_MSI ? KVM_MSI_VALID_DEVID : 0
  switch (type) {
    case KVM_IRQ_ROUTING_IRQCHIP:
    case KVM_IRQ_ROUTING_MSI:
    case KVM_IRQ_ROUTING_S390_ADAPTER:
    case KVM_IRQ_ROUTING_HV_SINT:
    case KVM_IRQ_ROUTING_XEN_EVTCHN:
      break
    default:
      throw new RoutingError('entry-type', `unknown type ${type}`, i)
  }
  if ((flags & ~allowedFlags) !== 0) {
    throw new RoutingError('entry-flags', `flags 0x${flags.toString(16)} for type ${type}`, i)
  }
  switch (type) {
    case KVM_IRQ_ROUTING_IRQCHIP:
      zeroFrom(E.u + 8)
      return { gsi, type: 'irqchip', irqchip: at(E.irqchip.irqchip), pin: at(E.irqchip.pin) }
    case KVM_IRQ_ROUTING_MSI: {
      const msi: MsiRoute = {
        gsi,
        type: 'msi',
        addressLo: at(E.msi.addressLo),
        addressHi: at(E.msi.addressHi),
        data: at(E.msi.data),
      }
      if (flags & KVM_MSI_VALID_DEVID) {
        msi.devid = at(E.msi.devid)
        zeroFrom(E.u + 16)
      } else {
        zeroFrom(E.u + 12)
      }
      return msi
    }
    case KVM_IRQ_ROUTING_S390_ADAPTER: {
      const u64At = (o: number) => (BigInt(at(o + 4)) << 32n) | BigInt(at(o))
      return {
        gsi,
        type: 's390Adapter',
        indAddr: u64At(E.s390Adapter.indAddr),
        summaryAddr: u64At(E.s390Adapter.summaryAddr),
        indOffset: u64At(E.s390Adapter.indOffset),
        summaryOffset: at(E.s390Adapter.summaryOffset),
        adapterId: at(E.s390Adapter.adapterId),
      }
    }
    case KVM_IRQ_ROUTING_HV_SINT:
      zeroFrom(E.u + 8)
      return { gsi, type: 'hvSint', vcpu: at(E.hvSint.vcpu), sint: at(E.hvSint.sint) }
    default:
      zeroFrom(E.u + 12)
      return {
        gsi,
        type: 'xenEvtchn',
        port: at(E.xenEvtchn.port),
        vcpu: at(E.xenEvtchn.vcpu),
        priority: at(E.xenEvtchn.priority),
      }
  }
}
