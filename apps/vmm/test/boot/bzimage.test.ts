import { GuestMemory } from '@tsvmm/guest-memory'
import { describe, expect, it } from 'vitest'
import { BOOT_PARAMS, bootParams, LOADER_UNDEFINED } from '../../src/boot/boot-params.js'
import { BzImageError, parseBzImage, SETUP } from '../../src/boot/bzimage.js'
import {
  E820,
  e820Table,
  lowRamTop,
  XEN_GRANT_FRAMES,
  XEN_SPECIAL_PAGE_COUNT,
  xenSpecialPages,
} from '../../src/boot/e820.js'
import { LINUX_LAYOUT, loadLinux } from '../../src/boot/linux.js'
import { EXIT } from '../../src/errors.js'

/** A synthetic bzImage: 4 setup sectors + `payload` bytes, protocol 2.15 like Debian's. */
export function syntheticBzImage(o: { payload?: number; patch?: (v: DataView) => void } = {}) {
  const setupSects = 4
  const payload = o.payload ?? 0x4000
  const img = new Uint8Array((setupSects + 1) * 512 + payload)
  const v = new DataView(img.buffer)
  v.setUint8(SETUP.setup_sects, setupSects)
  v.setUint32(SETUP.syssize, payload / 16, true)
  v.setUint16(SETUP.boot_flag, 0xaa55, true)
  v.setUint8(0x201, 0x6a) // header ends at 0x26c
  v.setUint32(SETUP.header, 0x53726448, true)
  v.setUint16(SETUP.version, 0x020f, true)
  v.setUint8(SETUP.loadflags, 1)
  v.setUint32(SETUP.code32_start, 0x100000, true)
  v.setUint32(SETUP.initrd_addr_max, 0x7fffffff, true)
  v.setUint32(SETUP.kernel_alignment, 0x200000, true)
  v.setUint8(SETUP.relocatable_kernel, 1)
  v.setUint16(SETUP.xloadflags, 0x7f, true)
  v.setUint32(SETUP.cmdline_size, 0x7ff, true)
  v.setUint32(SETUP.payload_offset, 0x100, true)
  v.setUint32(SETUP.payload_length, 0x1000, true)
  v.setBigUint64(SETUP.pref_address, 0x1000000n, true)
  v.setUint32(SETUP.init_size, 0x400000, true)
  img.fill(0xcc, (setupSects + 1) * 512)
  o.patch?.(v)
  return img
}

describe('parseBzImage', () => {
  it('reads the 2.12+ fields of a valid image', () => {
    const k = parseBzImage(syntheticBzImage())
    expect(k).toMatchObject({
      protocol: 0x020f,
      preferredAddress: 0x1000000,
      initSize: 0x400000,
      kernelAlignment: 0x200000,
      initrdAddrMax: 0x7fffffff,
      cmdlineSize: 0x7ff,
    })
    expect(k.payload.length).toBe(0x4000)
    expect(k.setupHeader.length).toBe(0x26c - 0x1f1)
  })

  const bad: [string, (v: DataView) => void][] = [
    ['boot_flag', (v) => v.setUint16(SETUP.boot_flag, 0, true)],
    ['header', (v) => v.setUint32(SETUP.header, 0, true)],
    ['version', (v) => v.setUint16(SETUP.version, 0x020b, true)],
    ['jump', (v) => v.setUint8(0x201, 0x20)],
    ['setup_sects', (v) => v.setUint8(SETUP.setup_sects, 200)],
    ['syssize', (v) => v.setUint32(SETUP.syssize, 0x10000, true)],
    ['loadflags', (v) => v.setUint8(SETUP.loadflags, 0)],
    ['xloadflags', (v) => v.setUint16(SETUP.xloadflags, 0x7e, true)],
    ['kernel_alignment', (v) => v.setUint32(SETUP.kernel_alignment, 0x3000, true)],
    ['pref_address', (v) => v.setBigUint64(SETUP.pref_address, 0x1000n, true)],
    ['pref_address', (v) => v.setBigUint64(SETUP.pref_address, 0x1100000n, true)],
    ['init_size', (v) => v.setUint32(SETUP.init_size, 0x100, true)],
    ['payload_offset', (v) => v.setUint32(SETUP.payload_length, 0x4000, true)],
    ['cmdline_size', (v) => v.setUint32(SETUP.cmdline_size, 0, true)],
    ['initrd_addr_max', (v) => v.setUint32(SETUP.initrd_addr_max, 0xfffff, true)],
  ]
  it.each(bad)('rejects a bad %s with exit 2 and one line', (field, patch) => {
    let err: unknown
    try {
      parseBzImage(syntheticBzImage({ patch }))
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(BzImageError)
    expect((err as BzImageError).field).toBe(field)
    expect((err as BzImageError).exitCode).toBe(EXIT.USAGE)
    expect((err as Error).message).not.toContain('\n')
  })

  it('rejects a file too short to hold a header', () => {
    expect(() => parseBzImage(new Uint8Array(100))).toThrow(BzImageError)
  })
})

describe('e820', () => {
  for (const mib of [64, 512, 3072, 4096, 8192]) {
    it(`${mib} MiB: sorted, disjoint, RAM below 640 KiB, nothing in the APIC window`, () => {
      const t = e820Table(mib * 1048576)
      for (let i = 1; i < t.length; i++) {
        const a = t[i - 1] as { addr: number; size: number }
        expect((t[i] as { addr: number }).addr).toBeGreaterThanOrEqual(a.addr + a.size)
      }
      expect(t[0]).toEqual({ addr: 0, size: 0x9fc00, type: E820.RAM })
      const ram = t.filter((e) => e.type === E820.RAM).reduce((n, e) => n + e.size, 0)
      // All RAM is mapped except the legacy hole between 640 KiB and 1 MiB and the Xen pages.
      expect(ram).toBe(mib * 1048576 - (0x100000 - 0x9fc00) - XEN_SPECIAL_PAGE_COUNT * 4096)
      for (const e of t)
        if (e.type === E820.RAM)
          expect(e.addr >= 0x100000000 || e.addr + e.size <= 0xfec00000).toBe(true)
    })
  }

  for (const mib of [64, 3072, 4096]) {
    it(`${mib} MiB: the Xen store, console and grant table pages are reserved at the top of low RAM`, () => {
      const pages = xenSpecialPages(mib * 1048576)
      const low = Math.min(mib * 1048576, 0xc0000000)
      expect(pages.start + pages.size).toBe(low)
      const grantFrames = Array.from(
        { length: XEN_GRANT_FRAMES },
        (_, i) => pages.grantTable + i * 4096,
      )
      const all = [pages.store, pages.console, ...grantFrames]
      expect(new Set(all).size).toBe(2 + XEN_GRANT_FRAMES)
      const t = e820Table(mib * 1048576)
      for (const gpa of all) {
        expect(gpa % 4096).toBe(0)
        const holder = t.find((e) => gpa >= e.addr && gpa + 4096 <= e.addr + e.size)
        expect(holder?.type).toBe(E820.RESERVED)
      }
      // The initrd goes below them.
      expect(lowRamTop(mib * 1048576)).toBe(pages.start)
    })
  }
})

describe('boot_params', () => {
  const header = parseBzImage(syntheticBzImage()).setupHeader
  const page = bootParams({
    setupHeader: header,
    cmdlineGpa: 0x20000,
    cmdlineLength: 10,
    initrd: { gpa: 0x1f000000, size: 0x123456 },
    e820: e820Table(512 * 1048576),
    rsdpGpa: 0xe0000,
  })
  const v = new DataView(page.buffer)
  it('carries the header, loader id, command line, initrd and RSDP at their offsets', () => {
    expect(v.getUint32(0x202, true)).toBe(0x53726448)
    expect(v.getUint8(0x210)).toBe(LOADER_UNDEFINED)
    expect(v.getUint32(0x228, true)).toBe(0x20000)
    expect(v.getUint32(0x218, true)).toBe(0x1f000000)
    expect(v.getUint32(0x21c, true)).toBe(0x123456)
    expect(v.getBigUint64(0x70, true)).toBe(0xe0000n)
    expect(v.getUint8(BOOT_PARAMS.sentinel)).toBe(0)
  })
  it('holds the e820 table', () => {
    // RAM, the EBDA, ACPI, RAM from 1 MiB, the Xen special pages.
    expect(v.getUint8(0x1e8)).toBe(5)
    expect(v.getBigUint64(0x2d0 + 20 * 3, true)).toBe(0x100000n)
    expect(v.getUint32(0x2d0 + 20 * 3 + 16, true)).toBe(1)
  })
})

describe('loadLinux', () => {
  const ramBytes = 128 * 1048576
  const memory = () => new GuestMemory([{ gpa: 0, bytes: new Uint8Array(ramBytes) }])
  it('puts payload, command line, initrd and zero page where the protocol says', () => {
    const m = memory()
    const initrd = new Uint8Array(0x3000).fill(7)
    const l = loadLinux(m, {
      kernel: syntheticBzImage(),
      initrd,
      cmdline: 'console=ttyS0',
      ramBytes,
      vcpus: 2,
    })
    expect(l.registers.rip).toBe(0x1000200n)
    expect(l.registers.rsi).toBe(BigInt(LINUX_LAYOUT.zeroPage))
    expect(l.registers.cs.selector).toBe(0x10)
    expect(l.registers.data.selector).toBe(0x18)
    expect(m.readU8(0x1000000)).toBe(0xcc)
    expect(new TextDecoder().decode(m.read(LINUX_LAYOUT.cmdline, 14))).toBe('console=ttyS0\0')
    // The initrd ends where the Xen special pages begin.
    const top = xenSpecialPages(ramBytes).start
    expect(l.at.initrd).toBe(top - 0x3000)
    expect(m.readU8(top - 1)).toBe(7)
    expect(m.readU32(LINUX_LAYOUT.zeroPage + 0x218)).toBe(top - 0x3000)
    // __BOOT_CS is a 64-bit code segment in the GDT the registers point at.
    expect(m.readU64(Number(l.registers.gdt.base) + 0x10)).toBe(0x00af9a000000ffffn)
  })
  it('refuses too little RAM and too long a command line', () => {
    expect(() =>
      loadLinux(memory(), {
        kernel: syntheticBzImage({ patch: (v) => v.setUint32(SETUP.init_size, 0x8000000, true) }),
        cmdline: '',
        ramBytes,
        vcpus: 1,
      }),
    ).toThrow(/needs 144 MiB/)
    expect(() =>
      loadLinux(memory(), {
        kernel: syntheticBzImage(),
        cmdline: 'x'.repeat(0x800),
        ramBytes,
        vcpus: 1,
      }),
    ).toThrow(/at most 2047/)
  })
})
