// The ACPI PM1a event and control blocks the FADT points at (acpi.ts, ACPI_PM). Linux powers
// off by writing SLP_TYP (from the DSDT's \_S5) with SLP_EN to PM1a_CNT
// (acpi_hw_legacy_sleep); that write stops the VM. SCI_EN reads 1: the platform is always in
// ACPI mode (FADT SMI_CMD = 0). PM1_STS is write-1-to-clear and nothing ever sets a status bit.
import { S5_SLP_TYP } from '../boot/acpi.js'
import type { PortDevice } from './port-bus.js'

export const PM1_CNT = { SCI_EN: 1 << 0, SLP_TYP_SHIFT: 10, SLP_TYP_MASK: 7 << 10, SLP_EN: 1 << 13 }

// Word layout of the shared state: PM1_EN, PM1_CNT.
const W = { EN: 0, CNT: 1 } as const
/** Int32 words of the PM block's state. */
export const ACPI_PM_STATE_WORDS = 2

/**
 * PM1a_EVT (4 bytes: STS, EN) followed by PM1a_CNT (2 bytes): add it at ACPI_PM.evt with length
 * 6 when the blocks are adjacent, as they are in acpi.ts.
 */
export class AcpiPm implements PortDevice {
  readonly #s: Int32Array
  readonly #powerOff: () => void

  constructor(state: Int32Array, powerOff: () => void) {
    if (state.length < ACPI_PM_STATE_WORDS) throw new RangeError('ACPI PM state is too small')
    this.#s = state
    this.#powerOff = powerOff
  }

  read(offset: number, size: number): number {
    const cnt = (this.#s[W.CNT] as number) | PM1_CNT.SCI_EN
    const en = this.#s[W.EN] as number
    // Bytes of STS (always 0), EN, CNT, read at any width from any offset.
    const bytes = [0, 0, en & 0xff, en >> 8, cnt & 0xff, cnt >> 8]
    let v = 0
    for (let i = 0; i < size; i++) v |= (bytes[offset + i] ?? 0xff) << (8 * i)
    return v >>> 0
  }

  write(offset: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) {
      const at = offset + i
      const b = (value >>> (8 * i)) & 0xff
      if (at === 2 || at === 3) {
        const shift = (at - 2) * 8
        this.#s[W.EN] = ((this.#s[W.EN] as number) & ~(0xff << shift)) | (b << shift)
      } else if (at === 4 || at === 5) {
        const shift = (at - 4) * 8
        this.#s[W.CNT] = ((this.#s[W.CNT] as number) & ~(0xff << shift)) | (b << shift)
      }
    }
    const cnt = this.#s[W.CNT] as number
    if (cnt & PM1_CNT.SLP_EN) {
      // SLP_EN is write-only: it never reads back.
      this.#s[W.CNT] = cnt & ~PM1_CNT.SLP_EN
      const typ = (cnt & PM1_CNT.SLP_TYP_MASK) >> PM1_CNT.SLP_TYP_SHIFT
      if (typ === S5_SLP_TYP) this.#powerOff()
    }
  }
}
