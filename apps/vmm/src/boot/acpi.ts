// The ACPI tables a Linux Xen HVM guest boots on (ACPI 6.3 layouts): RSDP -> XSDT -> FADT (with
// FACS and DSDT) and MADT. What Linux needs from them, checked against arch/x86/kernel/acpi/boot.c
// and arch/x86/xen/enlighten_hvm.c:
// - the MADT lists every CPU with processor UID = APIC ID = KVM vCPU id, because Linux takes a
//   secondary CPU's Xen vcpu_id from its ACPI UID (xen_cpu_up_prepare_hvm); without a MADT it
//   runs on one CPU and never sets up the Xen timer;
// - the FADT is not hardware-reduced (that removes the legacy PIC), and its boot flags never say
//   "no VGA" together with "no CMOS RTC" (xen_hvm_guest_late_init then decides the guest is PVH);
// - the PM1a control block at ACPI_PM.cnt and the DSDT's \_S5 make `poweroff` an S5 write;
// - the reset register points at the i8042 command port with 0xfe, so `reboot` stops the VM.
// No 8042 flag: Linux then skips probing a keyboard controller it would wait on for nothing.
import { ACPI_AREA } from './e820.js'

/** The ACPI PM I/O block (the PIIX4 addresses QEMU uses). */
export const ACPI_PM = {
  /** PM1a event block: PM1_STS (2 bytes) then PM1_EN (2 bytes). */
  evt: 0x600,
  evtLen: 4,
  /** PM1a control block (2 bytes): SCI_EN, SLP_TYP, SLP_EN. */
  cnt: 0x604,
  cntLen: 2,
} as const
/** The SLP_TYP the DSDT's \_S5 package names (QEMU's PIIX4 uses 0 for soft-off too). */
export const S5_SLP_TYP = 0
/** The SCI's ISA IRQ. */
export const SCI_IRQ = 9
/** Local APIC and IOAPIC addresses (KVM's in-kernel defaults). */
export const LAPIC_ADDRESS = 0xfee00000
export const IOAPIC_ADDRESS = 0xfec00000
/** FADT IAPC_BOOT_ARCH bits. */
export const BOOT_ARCH = {
  LEGACY_DEVICES: 1 << 0,
  I8042: 1 << 1,
  NO_VGA: 1 << 2,
  NO_CMOS_RTC: 1 << 5,
}
/** FADT flags bits. */
export const FADT_FLAGS = {
  WBINVD: 1 << 0,
  PROC_C1: 1 << 2,
  PWR_BUTTON: 1 << 4,
  SLP_BUTTON: 1 << 5,
  RESET_REG_SUP: 1 << 10,
  HW_REDUCED_ACPI: 1 << 20,
} as const

const OEM_ID = 'TSVMM '
const OEM_TABLE_ID = 'TSVMMXEN'
const HEADER = 36
const FADT_SIZE = 276
const FADT_OFF = {
  firmware_ctrl: 36,
  dsdt: 40,
  preferred_pm_profile: 45,
  sci_int: 46,
  pm1a_evt_blk: 56,
  pm1a_cnt_blk: 64,
  pm1_evt_len: 88,
  pm1_cnt_len: 89,
  iapc_boot_arch: 109,
  flags: 112,
  reset_reg: 116,
  reset_value: 128,
  minor_version: 131,
  x_firmware_ctrl: 132,
  x_dsdt: 140,
  x_pm1a_evt_blk: 148,
  x_pm1a_cnt_blk: 172,
} as const

/** The ACPI tables, laid out for `ACPI_AREA.start`. */
export interface AcpiTables {
  /** Bytes to write at `base`. */
  bytes: Uint8Array
  base: number
  /** The RSDP's address (boot_params.acpi_rsdp_addr). */
  rsdp: number
  /** Each table's address by signature (RSDP, XSDT, FACP, FACS, DSDT, APIC). */
  at: Record<string, number>
}

/** Sum of all bytes mod 256 (0 for a table whose checksum is right). */
export function byteSum(b: Uint8Array): number {
  let s = 0
  for (const x of b) s = (s + x) & 0xff
  return s
}

function ascii(v: DataView, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i))
}

function table(signature: string, revision: number, size: number): Uint8Array {
  const t = new Uint8Array(size)
  const v = new DataView(t.buffer)
  ascii(v, 0, signature)
  v.setUint32(4, size, true)
  v.setUint8(8, revision)
  ascii(v, 10, OEM_ID)
  ascii(v, 16, OEM_TABLE_ID)
  v.setUint32(24, 1, true)
  ascii(v, 28, 'TSVM')
  v.setUint32(32, 1, true)
  return t
}

function seal(t: Uint8Array, checksumAt = 9): Uint8Array {
  t[checksumAt] = 0
  t[checksumAt] = (256 - byteSum(t)) & 0xff
  return t
}

/** A Generic Address Structure for `width`-bit system I/O at `port`. */
function gas(v: DataView, at: number, port: number, widthBits: number): void {
  v.setUint8(at, 1) // SystemIO
  v.setUint8(at + 1, widthBits)
  v.setUint8(at + 2, 0)
  v.setUint8(at + 3, widthBits === 8 ? 1 : widthBits === 16 ? 2 : 3)
  v.setBigUint64(at + 4, BigInt(port), true)
}

/** DSDT: DefinitionBlock with `Name (_S5, Package () {S5_SLP_TYP, S5_SLP_TYP, 0, 0})`. */
export function dsdt(): Uint8Array {
  const typ = (n: number) => (n === 0 ? [0x00] : n === 1 ? [0x01] : [0x0a, n])
  const elements = [...typ(S5_SLP_TYP), ...typ(S5_SLP_TYP), 0x00, 0x00]
  // NameOp "_S5_" PackageOp PkgLength(1 byte: itself + NumElements + elements) NumElements 4
  const aml = [0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 2 + elements.length, 0x04, ...elements]
  const t = table('DSDT', 2, HEADER + aml.length)
  t.set(aml, HEADER)
  return seal(t)
}

/** FACS: required by a FADT that is not hardware-reduced (firmware waking vector, global lock). */
export function facs(): Uint8Array {
  const t = new Uint8Array(64)
  const v = new DataView(t.buffer)
  ascii(v, 0, 'FACS')
  v.setUint32(4, 64, true)
  v.setUint8(32, 2) // version
  return t
}

/** FADT (revision 6.3) pointing at `dsdtAt` and `facsAt`. */
export function fadt(
  dsdtAt: number,
  facsAt: number,
  resetPort: number,
  resetValue: number,
): Uint8Array {
  const t = table('FACP', 6, FADT_SIZE)
  const v = new DataView(t.buffer)
  const o = FADT_OFF
  v.setUint32(o.firmware_ctrl, facsAt, true)
  v.setUint32(o.dsdt, dsdtAt, true)
  v.setUint8(o.preferred_pm_profile, 0) // unspecified
  v.setUint16(o.sci_int, SCI_IRQ, true)
  // SMI_CMD 0: the platform is always in ACPI mode (SCI_EN reads 1).
  v.setUint32(o.pm1a_evt_blk, ACPI_PM.evt, true)
  v.setUint32(o.pm1a_cnt_blk, ACPI_PM.cnt, true)
  v.setUint8(o.pm1_evt_len, ACPI_PM.evtLen)
  v.setUint8(o.pm1_cnt_len, ACPI_PM.cntLen)
  // No CMOS RTC (nothing emulates one), but VGA is not ruled out: never both (see the top).
  v.setUint16(o.iapc_boot_arch, BOOT_ARCH.NO_CMOS_RTC, true)
  v.setUint32(
    o.flags,
    FADT_FLAGS.WBINVD |
      FADT_FLAGS.PROC_C1 |
      FADT_FLAGS.PWR_BUTTON |
      FADT_FLAGS.SLP_BUTTON |
      FADT_FLAGS.RESET_REG_SUP,
    true,
  )
  gas(v, o.reset_reg, resetPort, 8)
  v.setUint8(o.reset_value, resetValue)
  v.setUint8(o.minor_version, 3)
  v.setBigUint64(o.x_firmware_ctrl, BigInt(facsAt), true)
  v.setBigUint64(o.x_dsdt, BigInt(dsdtAt), true)
  gas(v, o.x_pm1a_evt_blk, ACPI_PM.evt, ACPI_PM.evtLen * 8)
  gas(v, o.x_pm1a_cnt_blk, ACPI_PM.cnt, ACPI_PM.cntLen * 8)
  return seal(t)
}

/** MADT: one enabled local APIC per vCPU (UID = APIC ID = vCPU id), the IOAPIC, the SCI override. */
export function madt(vcpus: number): Uint8Array {
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 255)
    throw new RangeError(`a MADT of xAPIC entries holds 1..255 CPUs, not ${vcpus}`)
  const size = HEADER + 8 + 8 * vcpus + 12 + 10 + 6
  const t = table('APIC', 5, size)
  const v = new DataView(t.buffer)
  v.setUint32(36, LAPIC_ADDRESS, true)
  v.setUint32(40, 1, true) // PCAT_COMPAT: there are 8259 PICs to mask
  let at = 44
  for (let i = 0; i < vcpus; i++) {
    v.setUint8(at, 0) // Processor Local APIC
    v.setUint8(at + 1, 8)
    v.setUint8(at + 2, i) // ACPI processor UID
    v.setUint8(at + 3, i) // APIC ID
    v.setUint32(at + 4, 1, true) // enabled
    at += 8
  }
  v.setUint8(at, 1) // I/O APIC
  v.setUint8(at + 1, 12)
  v.setUint8(at + 2, 0) // its id: KVM's in-kernel IOAPIC starts with id 0
  v.setUint32(at + 4, IOAPIC_ADDRESS, true)
  v.setUint32(at + 8, 0, true) // GSI base
  at += 12
  // The SCI is level-triggered active high on its ISA pin, as QEMU declares it.
  v.setUint8(at, 2) // Interrupt Source Override
  v.setUint8(at + 1, 10)
  v.setUint8(at + 2, 0) // ISA
  v.setUint8(at + 3, SCI_IRQ)
  v.setUint32(at + 4, SCI_IRQ, true)
  v.setUint16(at + 8, 0x000d, true) // active high (01), level (11 << 2)
  at += 10
  v.setUint8(at, 4) // Local APIC NMI: LINT1 of every CPU
  v.setUint8(at + 1, 6)
  v.setUint8(at + 2, 0xff)
  v.setUint16(at + 3, 0, true)
  v.setUint8(at + 5, 1)
  return seal(t)
}

function xsdt(entries: readonly number[]): Uint8Array {
  const t = table('XSDT', 1, HEADER + 8 * entries.length)
  const v = new DataView(t.buffer)
  entries.forEach((e, i) => {
    v.setBigUint64(HEADER + 8 * i, BigInt(e), true)
  })
  return seal(t)
}

function rsdp(xsdtAt: number): Uint8Array {
  const t = new Uint8Array(36)
  const v = new DataView(t.buffer)
  ascii(v, 0, 'RSD PTR ')
  ascii(v, 9, OEM_ID)
  v.setUint8(15, 2) // ACPI 2.0+: use the XSDT
  v.setUint32(20, 36, true)
  v.setBigUint64(24, BigInt(xsdtAt), true)
  t[8] = (256 - byteSum(t.subarray(0, 20))) & 0xff
  t[32] = (256 - byteSum(t)) & 0xff
  return t
}

/** The complete table set for `vcpus` CPUs; the i8042 reset (port, value) is the reset register. */
export function acpiTables(vcpus: number, reset = { port: 0x64, value: 0xfe }): AcpiTables {
  const base = ACPI_AREA.start
  const parts: { sig: string; bytes: Uint8Array; align: number }[] = []
  const layout = new Map<string, number>()
  let cursor = 0
  const place = (sig: string, size: number, align: number) => {
    cursor = Math.ceil(cursor / align) * align
    layout.set(sig, base + cursor)
    cursor += size
  }
  // Sizes are fixed by vcpus, so lay out first, then build with the final addresses.
  const dsdtBytes = dsdt()
  const madtBytes = madt(vcpus)
  place('RSDP', 36, 16)
  place('XSDT', HEADER + 16, 16)
  place('FACS', 64, 64)
  place('FACP', FADT_SIZE, 16)
  place('DSDT', dsdtBytes.length, 16)
  place('APIC', madtBytes.length, 16)
  const at = Object.fromEntries(layout) as Record<string, number>
  const get = (s: string) => at[s] as number
  parts.push(
    { sig: 'RSDP', bytes: rsdp(get('XSDT')), align: 16 },
    { sig: 'XSDT', bytes: xsdt([get('FACP'), get('APIC')]), align: 16 },
    { sig: 'FACS', bytes: facs(), align: 64 },
    { sig: 'FACP', bytes: fadt(get('DSDT'), get('FACS'), reset.port, reset.value), align: 16 },
    { sig: 'DSDT', bytes: dsdtBytes, align: 16 },
    { sig: 'APIC', bytes: madtBytes, align: 16 },
  )
  if (cursor > ACPI_AREA.size) throw new RangeError('the ACPI tables do not fit their area')
  const bytes = new Uint8Array(cursor)
  for (const p of parts) bytes.set(p.bytes, get(p.sig) - base)
  return { bytes, base, rsdp: get('RSDP'), at }
}
