import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  ACPI_PM,
  acpiTables,
  BOOT_ARCH,
  byteSum,
  FADT_FLAGS,
  LAPIC_ADDRESS,
  S5_SLP_TYP,
} from '../../src/boot/acpi.js'
import { ACPI_AREA } from '../../src/boot/e820.js'

const t = acpiTables(4)
const view = new DataView(t.bytes.buffer)
const at = (sig: string) => (t.at[sig] as number) - t.base
const tableBytes = (sig: string) => {
  const o = at(sig)
  return t.bytes.subarray(o, o + view.getUint32(o + 4, true))
}

describe('ACPI tables', () => {
  it('fit their e820 ACPI area and every checksum is right', () => {
    expect(t.base).toBe(ACPI_AREA.start)
    expect(t.bytes.length).toBeLessThanOrEqual(ACPI_AREA.size)
    expect(byteSum(t.bytes.subarray(0, 20))).toBe(0)
    expect(byteSum(t.bytes.subarray(0, 36))).toBe(0)
    for (const sig of ['XSDT', 'FACP', 'DSDT', 'APIC']) expect(byteSum(tableBytes(sig))).toBe(0)
  })

  it('parse back: RSDP -> XSDT -> FADT -> DSDT/FACS, and the MADT', () => {
    const ascii = (o: number, n: number) => String.fromCharCode(...t.bytes.subarray(o, o + n))
    expect(ascii(0, 8)).toBe('RSD PTR ')
    expect(view.getUint8(15)).toBe(2)
    const xsdt = Number(view.getBigUint64(24, true)) - t.base
    expect(ascii(xsdt, 4)).toBe('XSDT')
    const n = (view.getUint32(xsdt + 4, true) - 36) / 8
    const sigs = Array.from({ length: n }, (_, i) =>
      ascii(Number(view.getBigUint64(xsdt + 36 + 8 * i, true)) - t.base, 4),
    )
    expect(sigs.sort()).toEqual(['APIC', 'FACP'])
    const fadt = at('FACP')
    expect(ascii(view.getUint32(fadt + 40, true) - t.base, 4)).toBe('DSDT')
    expect(ascii(Number(view.getBigUint64(fadt + 140, true)) - t.base, 4)).toBe('DSDT')
    const facs = view.getUint32(fadt + 36, true)
    expect(facs % 64).toBe(0)
    expect(ascii(facs - t.base, 4)).toBe('FACS')
  })

  it('FADT: not hardware-reduced, never both no-VGA and no-RTC, PM1a blocks, i8042 reset', () => {
    const f = at('FACP')
    const flags = view.getUint32(f + 112, true)
    expect(flags & FADT_FLAGS.HW_REDUCED_ACPI).toBe(0)
    expect(flags & FADT_FLAGS.RESET_REG_SUP).not.toBe(0)
    const arch = view.getUint16(f + 109, true)
    expect((arch & BOOT_ARCH.NO_VGA) !== 0 && (arch & BOOT_ARCH.NO_CMOS_RTC) !== 0).toBe(false)
    expect(arch & BOOT_ARCH.I8042).toBe(0)
    expect(view.getUint32(f + 64, true)).toBe(ACPI_PM.cnt)
    expect(view.getUint8(f + 89)).toBe(2)
    expect(view.getUint32(f + 56, true)).toBe(ACPI_PM.evt)
    expect(view.getUint32(f + 48, true)).toBe(0) // no SMI_CMD: always in ACPI mode
    // reset register: SystemIO port 0x64, value 0xfe
    expect(view.getUint8(f + 116)).toBe(1)
    expect(view.getBigUint64(f + 120, true)).toBe(0x64n)
    expect(view.getUint8(f + 128)).toBe(0xfe)
  })

  it('MADT: one enabled local APIC per vCPU with UID = APIC ID = vCPU id, one IOAPIC', () => {
    const m = at('APIC')
    expect(view.getUint32(m + 36, true)).toBe(LAPIC_ADDRESS)
    const end = m + view.getUint32(m + 4, true)
    const lapics: [number, number, number][] = []
    let ioapics = 0
    for (let o = m + 44; o < end; o += view.getUint8(o + 1)) {
      const type = view.getUint8(o)
      if (type === 0)
        lapics.push([view.getUint8(o + 2), view.getUint8(o + 3), view.getUint32(o + 4, true)])
      if (type === 1) ioapics++
    }
    expect(lapics).toEqual([0, 1, 2, 3].map((i) => [i, i, 1]))
    expect(ioapics).toBe(1)
  })

  it('DSDT names \\_S5 with the SLP_TYP the PM block powers off on', () => {
    const d = tableBytes('DSDT')
    const aml = [...d.subarray(36)]
    expect(aml.slice(0, 5)).toEqual([0x08, 0x5f, 0x53, 0x35, 0x5f])
    expect(aml[8]).toBe(S5_SLP_TYP)
  })

  it('iasl -d disassembles every table without errors (when acpica-tools is installed)', () => {
    const which = spawnSync('sh', ['-c', 'command -v iasl'], { encoding: 'utf8' })
    if (which.status !== 0) {
      console.warn('iasl not installed (apt-get install acpica-tools): disassembly check not run')
      return
    }
    const dir = mkdtempSync(join(tmpdir(), 'tsvmm-acpi-'))
    for (const sig of ['XSDT', 'FACP', 'DSDT', 'APIC']) {
      const file = join(dir, `${sig.toLowerCase()}.dat`)
      writeFileSync(file, tableBytes(sig))
      const r = spawnSync('iasl', ['-d', file], { cwd: dir, encoding: 'utf8' })
      expect(r.status, `${sig}: ${r.stdout}${r.stderr}`).toBe(0)
      const dsl = readFileSync(join(dir, `${sig.toLowerCase()}.dsl`), 'utf8')
      expect(dsl).not.toMatch(/Invalid|Error|\*\*\*\*/i)
      if (sig === 'DSDT') expect(dsl).toContain('_S5')
      if (sig === 'APIC') expect(dsl.match(/Processor Local APIC/g)?.length).toBe(4)
    }
  })
})
