// The PC platform a Linux guest gets besides KVM's in-kernel irqchip and PIT: COM1 (a 16550A at
// 0x3f8 on ISA IRQ 4), the i8042's reset line at 0x60/0x64, and the ACPI PM1a blocks at 0x600.
// Their state lives in one SharedArrayBuffer so every vCPU thread drives the same devices
// (under one lock), and COM1's output goes through a byte ring the main thread drains, so the
// serial log keeps the guest's order whichever vCPU wrote it.
import { ACPI_PM } from '../boot/acpi.js'
import { ACPI_PM_STATE_WORDS, AcpiPm } from './acpi-pm.js'
import { ByteRing } from './byte-ring.js'
import { I8042, I8042_PORTS } from './i8042.js'
import { PortBus } from './port-bus.js'
import { SharedLock } from './shared-lock.js'
import { UART_STATE_WORDS, Uart16550 } from './uart16550.js'

/** COM1's ports and ISA IRQ. */
export const COM1 = { base: 0x3f8, irq: 4 } as const
/** Serial bytes the ring holds before a writing vCPU waits for the main thread. */
const SERIAL_RING_BYTES = 1 << 20

/** The shared memory of one VM's platform devices (transferable to workers). */
export interface PlatformState {
  /** Lock word, then the UART's and the PM block's words. */
  devices: SharedArrayBuffer
  /** COM1's transmit ring. */
  serial: SharedArrayBuffer
}

/** What the platform devices do to the machine. */
export interface PlatformSink {
  /** Set ISA IRQ `irq` to `level` (KVM_IRQ_LINE on the in-kernel PIC and IOAPIC). */
  setIrq(irq: number, level: boolean): void
  /** ACPI S5. */
  powerOff(): void
  /** The i8042 reset line. */
  reset(): void
}

const LOCK = 0
const UART_AT = 1
const PM_AT = UART_AT + UART_STATE_WORDS
const WORDS = PM_AT + ACPI_PM_STATE_WORDS

/** Fresh platform state (devices after reset). */
export function createPlatformState(): PlatformState {
  return {
    devices: new SharedArrayBuffer(4 * WORDS),
    serial: ByteRing.buffer(SERIAL_RING_BYTES),
  }
}

/** The port bus over `state` for one thread. */
export function platformBus(state: PlatformState, sink: PlatformSink): PortBus {
  const words = new Int32Array(state.devices)
  const bus = new PortBus(new SharedLock(words, LOCK))
  const ring = new ByteRing(state.serial)
  const uart = new Uart16550(words.subarray(UART_AT, UART_AT + UART_STATE_WORDS), {
    transmit: (b) => {
      ring.push(b)
    },
    setIrq: (level) => sink.setIrq(COM1.irq, level),
  })
  bus.add(COM1.base, 8, uart)
  bus.add(I8042_PORTS.DATA, 5, new I8042(() => sink.reset()))
  bus.add(
    ACPI_PM.evt,
    ACPI_PM.evtLen + ACPI_PM.cntLen,
    new AcpiPm(words.subarray(PM_AT, WORDS), () => sink.powerOff()),
  )
  return bus
}

/** The main thread's reader of COM1's output. */
export function serialReader(state: PlatformState): ByteRing {
  return new ByteRing(state.serial)
}
