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
import type { MsiRoute, RoutingEntry } from './entry.js'
import { RoutingError } from './errors.js'

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

function badField(index: number, field: string, value: unknown, what: string): RoutingError {
  return new RoutingError('field-range', `${field} ${String(value)} is not ${what}`, index)
}

function u32(v: number, index: number, field: string): number {
  if (v >>> 0 !== v) throw badField(index, field, v, 'a u32')
  return v
}

function u64(v: bigint, index: number, field: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX)
    throw badField(index, field, v, 'a u64 bigint')
  return v
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
  const count = entries.length
  const size = encodedSize(count)
  let out: Uint8Array
  if (into === undefined) {
    out = new Uint8Array(size)
  } else {
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
  words[0] = count
  words[1] = 0
  for (let i = 0, w = HEADER_BYTES / 4; i < count; i++, w += ENTRY_WORDS) {
    writeEntry(words, w, entries[i] as RoutingEntry, i)
  }
  if (!direct) copyLittleEndian(words, out)
  return out
}

function scratchWords(size: number): Uint32Array {
  if (scratch.length < size >>> 2) scratch = new Uint32Array(size >>> 2)
  return scratch
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

// One entry = 12 words: gsi, type, flags, pad, u[0..7]. Every word is written so a reused
// buffer never leaks bytes of an earlier table.
function writeEntry(w: Uint32Array, o: number, e: RoutingEntry, i: number): void {
  if (typeof e !== 'object' || e === null) {
    throw new RoutingError('entry-shape', `${String(e)} is not a routing entry`, i)
  }
  w[o] = u32(e.gsi, i, 'gsi')
  w[o + 3] = 0
  switch (e.type) {
    case 'irqchip':
      w[o + 1] = KVM_IRQ_ROUTING_IRQCHIP
      w[o + 2] = 0
      w[o + 4] = u32(e.irqchip, i, 'irqchip')
      w[o + 5] = u32(e.pin, i, 'pin')
      w[o + 6] = 0
      w[o + 7] = 0
      break
    case 'msi':
      w[o + 1] = KVM_IRQ_ROUTING_MSI
      w[o + 4] = u32(e.addressLo, i, 'addressLo')
      w[o + 5] = u32(e.addressHi, i, 'addressHi')
      w[o + 6] = u32(e.data, i, 'data')
      if (e.devid === undefined) {
        w[o + 2] = 0
        w[o + 7] = 0
      } else {
        w[o + 2] = KVM_MSI_VALID_DEVID
        w[o + 7] = u32(e.devid, i, 'devid')
      }
      break
    case 's390Adapter': {
      w[o + 1] = KVM_IRQ_ROUTING_S390_ADAPTER
      w[o + 2] = 0
      const ind = u64(e.indAddr, i, 'indAddr')
      const summary = u64(e.summaryAddr, i, 'summaryAddr')
      const offset = u64(e.indOffset, i, 'indOffset')
      w[o + 4] = Number(ind & 0xffff_ffffn)
      w[o + 5] = Number(ind >> 32n)
      w[o + 6] = Number(summary & 0xffff_ffffn)
      w[o + 7] = Number(summary >> 32n)
      w[o + 8] = Number(offset & 0xffff_ffffn)
      w[o + 9] = Number(offset >> 32n)
      w[o + 10] = u32(e.summaryOffset, i, 'summaryOffset')
      w[o + 11] = u32(e.adapterId, i, 'adapterId')
      return
    }
    case 'hvSint':
      w[o + 1] = KVM_IRQ_ROUTING_HV_SINT
      w[o + 2] = 0
      w[o + 4] = u32(e.vcpu, i, 'vcpu')
      w[o + 5] = u32(e.sint, i, 'sint')
      w[o + 6] = 0
      w[o + 7] = 0
      break
    case 'xenEvtchn':
      w[o + 1] = KVM_IRQ_ROUTING_XEN_EVTCHN
      w[o + 2] = 0
      w[o + 4] = u32(e.port, i, 'port')
      w[o + 5] = u32(e.vcpu, i, 'vcpu')
      w[o + 6] =
        e.priority === undefined
          ? KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL
          : u32(e.priority, i, 'priority')
      w[o + 7] = 0
      break
    default:
      throw new RoutingError(
        'entry-shape',
        `unknown route type ${String((e as { type: unknown }).type)}`,
        i,
      )
  }
  w[o + 8] = 0
  w[o + 9] = 0
  w[o + 10] = 0
  w[o + 11] = 0
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
