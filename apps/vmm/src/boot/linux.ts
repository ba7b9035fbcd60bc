// Loading Linux by the 64-bit boot protocol (boot.rst, "64-bit Boot Protocol"): the payload at
// its preferred address, boot_params and the command line in low memory, the initrd at the top
// of low RAM under initrd_addr_max, the ACPI tables, a GDT with __BOOT_CS = 0x10 and
// __BOOT_DS = 0x18, identity page tables for the first 4 GiB, and the bootstrap vCPU entering
// at +0x200 in long mode with RSI = boot_params. Secondary vCPUs are left to INIT/SIPI.
import type { GuestMemory } from '@tsvmm/guest-memory'
import { VmmError } from '../errors.js'
import { acpiTables } from './acpi.js'
import { BOOT_LAYOUT, type BootRegisters, bootRegisters, writeBootStructures } from './boot.js'
import { bootParams } from './boot-params.js'
import { ENTRY_64_OFFSET, parseBzImage } from './bzimage.js'
import { e820Table, lowRamTop } from './e820.js'

/** Where boot_params and the command line go (below the EBDA, above tsvmm's boot area). */
export const LINUX_LAYOUT = { zeroPage: 0x7000, cmdline: 0x20000 } as const

/** The boot GDT: null, null, __BOOT_CS (0x10, 64-bit code), __BOOT_DS (0x18), a TSS (0x20). */
export const LINUX_GDT = [
  0n,
  0n,
  0x00af9a000000ffffn,
  0x00cf92000000ffffn,
  0x00008b0000000067n,
] as const

/** What to boot. */
export interface LinuxBoot {
  kernel: Uint8Array
  initrd?: Uint8Array
  cmdline: string
  ramBytes: number
  vcpus: number
}

/** The loaded kernel: where the bootstrap vCPU starts. */
export interface LoadedLinux {
  registers: BootRegisters & { rsi: bigint }
  /** Where each piece went, for logs and tests. */
  at: { kernel: number; zeroPage: number; cmdline: number; initrd?: number; rsdp: number }
}

const MiB = 1048576

/** Writes everything the kernel needs into `memory` (a fresh, zeroed guest). */
export function loadLinux(memory: GuestMemory, boot: LinuxBoot): LoadedLinux {
  const image = parseBzImage(boot.kernel)
  const cmd = new TextEncoder().encode(boot.cmdline)
  if (cmd.length > image.cmdlineSize)
    throw new VmmError(
      'usage',
      `the kernel command line is ${cmd.length} bytes; this kernel takes at most ${image.cmdlineSize}`,
    )
  const top = lowRamTop(boot.ramBytes)
  const load = image.preferredAddress
  const kernelEnd = load + Math.max(image.initSize, image.payload.length)
  if (kernelEnd > top)
    throw new VmmError(
      'usage',
      `this kernel needs ${Math.ceil(kernelEnd / MiB)} MiB of RAM to decompress; --memory gives ${Math.floor(top / MiB)} MiB`,
    )
  writeBootStructures(memory, 64)
  LINUX_GDT.forEach((e, i) => {
    memory.writeU64(BOOT_LAYOUT.gdt + 8 * i, e)
  })
  memory.write(load, image.payload)
  memory.write(LINUX_LAYOUT.cmdline, cmd)
  memory.writeU8(LINUX_LAYOUT.cmdline + cmd.length, 0)
  let initrd: { gpa: number; size: number } | undefined
  if (boot.initrd !== undefined && boot.initrd.length > 0) {
    const size = boot.initrd.length
    const end = Math.min(top, image.initrdAddrMax + 1)
    const gpa = Math.floor((end - size) / 4096) * 4096
    if (gpa < kernelEnd)
      throw new VmmError(
        'usage',
        `the initrd (${Math.ceil(size / MiB)} MiB) does not fit between the kernel and the top of RAM; give more --memory`,
      )
    memory.write(gpa, boot.initrd)
    initrd = { gpa, size }
  }
  const acpi = acpiTables(boot.vcpus)
  memory.write(acpi.base, acpi.bytes)
  memory.write(
    LINUX_LAYOUT.zeroPage,
    bootParams({
      setupHeader: image.setupHeader,
      cmdlineGpa: LINUX_LAYOUT.cmdline,
      cmdlineLength: cmd.length,
      ...(initrd !== undefined && { initrd }),
      e820: e820Table(boot.ramBytes),
      rsdpGpa: acpi.rsdp,
    }),
  )
  const base = bootRegisters(64, load + ENTRY_64_OFFSET)
  const registers = {
    ...base,
    cs: { ...base.cs, selector: 0x10 },
    data: { ...base.data, selector: 0x18 },
    tr: { ...base.tr, selector: 0x20 },
    gdt: { base: BigInt(BOOT_LAYOUT.gdt), limit: LINUX_GDT.length * 8 - 1 },
    rsi: BigInt(LINUX_LAYOUT.zeroPage),
  }
  return {
    registers,
    at: {
      kernel: load,
      zeroPage: LINUX_LAYOUT.zeroPage,
      cmdline: LINUX_LAYOUT.cmdline,
      ...(initrd !== undefined && { initrd: initrd.gpa }),
      rsdp: acpi.rsdp,
    },
  }
}
