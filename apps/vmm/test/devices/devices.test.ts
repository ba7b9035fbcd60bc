import { describe, expect, it } from 'vitest'
import { ACPI_PM, S5_SLP_TYP } from '../../src/boot/acpi.js'
import { ACPI_PM_STATE_WORDS, AcpiPm, PM1_CNT } from '../../src/devices/acpi-pm.js'
import { ByteRing } from '../../src/devices/byte-ring.js'
import { I8042 } from '../../src/devices/i8042.js'
import { PortBus } from '../../src/devices/port-bus.js'
import { SharedLock } from '../../src/devices/shared-lock.js'
import { UART_STATE_WORDS, Uart16550 } from '../../src/devices/uart16550.js'

const COM1 = 0x3f8
// drivers/tty/serial/8250/8250_port.c register numbers and bits
const RX = 0
const TX = 0
const IER = 1
const IIR = 2
const FCR = 2
const EFR = 2
const LCR = 3
const MCR = 4
const LSR = 5
const MSR = 6
const UART_IER_ALL = 0x0f
const UART_IER_THRI = 0x02
const UART_IER_UUE = 0x40
const UART_IIR_NO_INT = 0x01
const UART_LSR_TEMT = 0x40
const UART_LSR_THRE = 0x20

function platform() {
  const out: number[] = []
  const irq: boolean[] = []
  const bus = new PortBus(new SharedLock(new Int32Array(new SharedArrayBuffer(4))))
  const uart = new Uart16550(new Int32Array(UART_STATE_WORDS), {
    transmit: (b) => out.push(b),
    setIrq: (l) => irq.push(l),
  })
  bus.add(COM1, 8, uart)
  const inb = (r: number) => bus.read(COM1 + r, 1)
  const outb = (r: number, v: number) => bus.write(COM1 + r, 1, v)
  return { bus, uart, out, irq, inb, outb }
}

describe('16550A UART, replaying Linux 6.12 8250_port.c', () => {
  it('autoconfig(): IER read-back, loopback MSR, FIFO bits say 16550A, no EFR/16750/XScale', () => {
    const { inb, outb } = platform()
    // simple existence test
    const scratch = inb(IER)
    outb(IER, 0)
    const scratch2 = inb(IER) & UART_IER_ALL
    outb(IER, UART_IER_ALL)
    const scratch3 = inb(IER) & UART_IER_ALL
    outb(IER, scratch)
    expect([scratch2, scratch3]).toEqual([0, UART_IER_ALL])
    const saveMcr = inb(MCR)
    const saveLcr = inb(LCR)
    // loopback test (UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS): DCD | CTS
    outb(MCR, 0x10 | 0x08 | 0x02)
    expect(inb(MSR) & 0xf0).toBe(0x80 | 0x10)
    outb(MCR, saveMcr)
    outb(LCR, 0xbf)
    outb(EFR, 0)
    outb(LCR, 0)
    outb(FCR, 0x01)
    expect(inb(IIR) >> 6).toBe(3) // autoconfig_16550a
    outb(LCR, 0x80) // UART_LCR_CONF_MODE_A
    expect(inb(EFR)).not.toBe(0) // not an ST16C650V1
    outb(LCR, 0xbf)
    expect(inb(EFR)).not.toBe(0) // no EFR
    // 16750 test: the 64-byte FIFO bit never shows
    outb(LCR, 0)
    outb(FCR, 0x01 | 0x20)
    const status1 = inb(IIR) & 0xe0
    outb(FCR, 0)
    outb(LCR, 0x80)
    outb(FCR, 0x01 | 0x20)
    const status2 = inb(IIR) & 0xe0
    outb(FCR, 0)
    outb(LCR, 0)
    expect(status1 === 0xc0 && status2 === 0xe0).toBe(false)
    // XScale UUE bit does not stick
    const iersave = inb(IER)
    outb(IER, iersave | UART_IER_UUE)
    expect(inb(IER) & UART_IER_UUE).toBe(0)
    outb(LCR, saveLcr)
  })

  it('serial8250_do_startup(): THRE is re-asserted (no UART_BUG_THRE), TX irq test passes (no UART_BUG_TXEN)', () => {
    const { inb, outb, irq } = platform()
    outb(FCR, 0x01)
    outb(FCR, 0x07)
    outb(FCR, 0)
    inb(LSR)
    inb(RX)
    inb(IIR)
    inb(MSR)
    expect(inb(LSR)).not.toBe(0xff) // LSR safety check
    // THRE test
    expect(inb(LSR) & UART_LSR_THRE).not.toBe(0)
    outb(IER, UART_IER_THRI)
    const iir1 = inb(IIR)
    outb(IER, 0)
    outb(IER, UART_IER_THRI)
    const iir = inb(IIR)
    outb(IER, 0)
    const bugThre = !(iir1 & UART_IIR_NO_INT) && iir & UART_IIR_NO_INT
    expect(bugThre).toBe(0)
    expect(iir1 & 0x0f).toBe(0x02)
    outb(LCR, 0x03)
    outb(MCR, 0x08 | 0x03)
    // TX interrupt test
    outb(IER, UART_IER_THRI)
    const lsr = inb(LSR)
    const iir2 = inb(IIR)
    outb(IER, 0)
    expect(lsr & UART_LSR_TEMT && iir2 & UART_IIR_NO_INT).toBe(0)
    // every raise was followed by a lower: the line is an edge each time THRI fires
    expect(irq.filter((l) => l).length).toBe(3)
    expect(irq.at(-1)).toBe(false)
  })

  it('transmits THR bytes, raises THRI after each, and IIR reports RDI before THRI', () => {
    const { inb, outb, out, uart } = platform()
    outb(LCR, 0x03)
    outb(IER, UART_IER_THRI | 0x01)
    expect(uart.irqLevel).toBe(true)
    expect(inb(IIR) & 0x0f).toBe(0x02)
    expect(uart.irqLevel).toBe(false)
    for (const c of 'ok\n') outb(TX, c.charCodeAt(0))
    expect(String.fromCharCode(...out)).toBe('ok\n')
    expect(uart.irqLevel).toBe(true)
    uart.receive(0x41)
    expect(inb(IIR) & 0x0f).toBe(0x04)
    expect(inb(LSR) & 1).toBe(1)
    expect(inb(RX)).toBe(0x41)
    expect(inb(LSR) & 1).toBe(0)
    expect(inb(IIR) & 0x0f).toBe(0x02)
  })

  it('loops THR back to RBR in loopback mode instead of sending', () => {
    const { inb, outb, out } = platform()
    outb(MCR, 0x10)
    outb(TX, 0x5a)
    expect(out).toEqual([])
    expect(inb(LSR) & 1).toBe(1)
    expect(inb(RX)).toBe(0x5a)
  })

  it('keeps the divisor latch apart from RBR/IER', () => {
    const { inb, outb } = platform()
    outb(LCR, 0x80)
    outb(0, 0x01)
    outb(1, 0x00)
    outb(LCR, 0x03)
    outb(IER, 0x05)
    outb(LCR, 0x83)
    expect([inb(0), inb(1)]).toEqual([1, 0])
    outb(LCR, 0x03)
    expect(inb(IER)).toBe(5)
  })
})

describe('port bus', () => {
  it('unclaimed ports read all ones at every width; double claims are refused', () => {
    const { bus } = platform()
    expect(bus.read(0x2f8, 1)).toBe(0xff)
    expect(bus.read(0x2f8, 2)).toBe(0xffff)
    expect(bus.read(0x2f8, 4)).toBe(0xffffffff)
    expect(() => bus.add(0x3fc, 2, new I8042(() => {}))).toThrow(RangeError)
    expect(() => bus.add(0xfffe, 4, new I8042(() => {}))).toThrow(RangeError)
  })
})

describe('i8042', () => {
  it('command 0xfe resets; the status says the input buffer is empty', () => {
    let resets = 0
    const bus = new PortBus()
    bus.add(0x60, 5, new I8042(() => resets++))
    expect(bus.read(0x64, 1) & 0x02).toBe(0)
    bus.write(0x64, 1, 0xaa)
    bus.write(0x60, 1, 0xfe)
    expect(resets).toBe(0)
    bus.write(0x64, 1, 0xfe)
    expect(resets).toBe(1)
  })
})

describe('ACPI PM1a', () => {
  const make = () => {
    let off = 0
    const bus = new PortBus()
    bus.add(ACPI_PM.evt, 6, new AcpiPm(new Int32Array(ACPI_PM_STATE_WORDS), () => off++))
    return { bus, off: () => off }
  }
  it('SCI_EN reads 1; S5 with SLP_EN powers off (acpi_hw_legacy_sleep)', () => {
    const { bus, off } = make()
    expect(bus.read(ACPI_PM.cnt, 2) & PM1_CNT.SCI_EN).toBe(1)
    // ACPICA writes SLP_TYP first, then SLP_TYP | SLP_EN
    const typ = S5_SLP_TYP << 10
    bus.write(ACPI_PM.cnt, 2, typ | 1)
    expect(off()).toBe(0)
    bus.write(ACPI_PM.cnt, 2, typ | PM1_CNT.SLP_EN | 1)
    expect(off()).toBe(1)
    expect(bus.read(ACPI_PM.cnt, 2) & PM1_CNT.SLP_EN).toBe(0)
  })
  it('another sleep type does nothing; PM1_EN keeps what was written, PM1_STS reads 0', () => {
    const { bus, off } = make()
    bus.write(ACPI_PM.cnt, 2, (3 << 10) | PM1_CNT.SLP_EN)
    expect(off()).toBe(0)
    bus.write(ACPI_PM.evt + 2, 2, 0x0120)
    expect(bus.read(ACPI_PM.evt, 4)).toBe(0x01200000)
  })
})

describe('byte ring', () => {
  it('keeps order across wrap-around', () => {
    const ring = new ByteRing(ByteRing.buffer(16))
    const got: number[] = []
    for (let i = 0; i < 100; i++) {
      expect(ring.push(i)).toBe(true)
      if (i % 7 === 6) got.push(...ring.drain())
    }
    got.push(...ring.drain())
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })
  it('drops a byte after waiting when nobody drains', () => {
    const ring = new ByteRing(ByteRing.buffer(16))
    for (let i = 0; i < 16; i++) ring.push(i)
    expect(ring.push(99, 5)).toBe(false)
  })
})
