// The wall clock in shared_info (wc_version, wc_sec, wc_nsec, wc_sec_hi): the real time at which
// Xen system time was 0, so that guest wall time = wc + pvclock time (Linux's
// xen_read_wallclock). KVM writes it itself when it owns shared_info (kernel delivery, in
// kvm_xen_shared_info_init); with user delivery tsvmm writes it, versioned like a seqlock.

/** shared_info offsets of the wall clock fields: after vcpu_info[32] and the two port bitmaps. */
export function wallClockOffsets(longMode: boolean): {
  version: number
  sec: number
  nsec: number
  secHi?: number
} {
  // 64-bit: 32 x 64-byte vcpu_info, then 2 x 64 x 8-byte bitmaps; 32-bit: 2 x 32 x 4-byte ones.
  const base = 32 * 64 + (longMode ? 2 * 64 * 8 : 2 * 32 * 4)
  return longMode
    ? { version: base, sec: base + 4, nsec: base + 8, secHi: base + 12 }
    : { version: base, sec: base + 4, nsec: base + 8 }
}

/** What the wall clock fields need written. */
export interface WallClockTarget {
  readU32(gpa: number): number
  writeU32(gpa: number, value: number): void
}

/**
 * Writes the boot wall time `bootNs` (ns since the epoch at system time 0) into the shared_info
 * page at `sharedInfo`: wc_version goes odd, the fields change, then it goes even again.
 */
export function writeWallClock(
  memory: WallClockTarget,
  sharedInfo: number,
  bootNs: bigint,
  longMode: boolean,
): void {
  const o = wallClockOffsets(longMode)
  const version = memory.readU32(sharedInfo + o.version)
  const odd = (version | 1) >>> 0
  memory.writeU32(sharedInfo + o.version, odd)
  const sec = bootNs / 1_000_000_000n
  memory.writeU32(sharedInfo + o.sec, Number(sec & 0xffff_ffffn))
  memory.writeU32(sharedInfo + o.nsec, Number(bootNs % 1_000_000_000n))
  if (o.secHi !== undefined) memory.writeU32(sharedInfo + o.secHi, Number(sec >> 32n))
  memory.writeU32(sharedInfo + o.version, (odd + 1) >>> 0)
}
