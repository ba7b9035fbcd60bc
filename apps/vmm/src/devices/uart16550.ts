// A 16550A UART (COM1: ports 0x3f8-0x3ff, ISA IRQ 4) with the interrupt semantics Linux's 8250
// driver tests for (drivers/tty/serial/8250/8250_port.c): the IER read-back and MCR loopback of
// autoconfig(), the FIFO bits in IIR that make it a 16550A, and the THRE interrupt that is
// re-asserted whenever IER.THRI is enabled while the transmitter is empty (serial8250_do_startup
// checks this; a UART that fails it is driven by a polling timer: slow output, hidden bug).
// The rules follow QEMU's hw/char/serial.c (serial_update_irq, serial_ioport_read/write): one
// interrupt source at a time by priority, THRI cleared by reading IIR or writing THR, and the IRQ
// line raised whatever MCR.OUT2 says. A byte written to THR is sent at once.
// State is a block of Int32 words so the vCPU threads can share one UART (under the bus lock).
import type { PortDevice } from './port-bus.js'

/** Register offsets. */
export const UART = {
  RBR_THR_DLL: 0,
  IER_DLM: 1,
  IIR_FCR: 2,
  LCR: 3,
  MCR: 4,
  LSR: 5,
  MSR: 6,
  SCR: 7,
} as const
export const IER = { RDI: 0x01, THRI: 0x02, RLSI: 0x04, MSI: 0x08 } as const
export const IIR = {
  NO_INT: 0x01,
  MSI: 0x00,
  THRI: 0x02,
  RDI: 0x04,
  RLSI: 0x06,
  FIFO: 0xc0,
} as const
export const LSR = { DR: 0x01, OE: 0x02, BI: 0x10, THRE: 0x20, TEMT: 0x40 } as const
export const MCR = { DTR: 0x01, RTS: 0x02, OUT1: 0x04, OUT2: 0x08, LOOP: 0x10 } as const
export const MSR = { CTS: 0x10, DSR: 0x20, RI: 0x40, DCD: 0x80 } as const
const LCR_DLAB = 0x80
const FCR = { ENABLE: 0x01, CLEAR_RCVR: 0x02 } as const
const RX_FIFO = 16

// Word layout of the shared state.
const W = {
  IER: 0,
  IIR: 1,
  LCR: 2,
  MCR: 3,
  LSR: 4,
  MSR: 5,
  SCR: 6,
  DLL: 7,
  DLM: 8,
  FCR: 9,
  THR_PENDING: 10,
  IRQ_LEVEL: 11,
  RX_COUNT: 12,
  RX_HEAD: 13,
  RX: 14,
} as const
/** Int32 words of one UART's state. */
export const UART_STATE_WORDS = W.RX + RX_FIFO

/** Where a UART's effects go. */
export interface UartSink {
  /** A byte the guest sent (not in loopback). */
  transmit(byte: number): void
  /** The IRQ line changed level. */
  setIrq(level: boolean): void
}

/** One 16550A over shared state words. */
export class Uart16550 implements PortDevice {
  readonly #s: Int32Array
  readonly #sink: UartSink

  /** `state`: {@link UART_STATE_WORDS} words; zeroed words are a UART after reset. */
  constructor(state: Int32Array, sink: UartSink) {
    if (state.length < UART_STATE_WORDS) throw new RangeError('UART state is too small')
    this.#s = state
    this.#sink = sink
    if (this.#s[W.LSR] === 0) this.reset()
  }

  /** Power-on state: transmitter empty, carrier, DSR and CTS up (a connected terminal). */
  reset(): void {
    this.#s.fill(0, 0, UART_STATE_WORDS)
    this.#s[W.IIR] = IIR.NO_INT
    this.#s[W.LSR] = LSR.THRE | LSR.TEMT
    this.#s[W.MSR] = MSR.DCD | MSR.DSR | MSR.CTS
    this.#s[W.DLL] = 0x0c // 9600 baud, as after a BIOS
  }

  #get(w: number): number {
    return this.#s[w] as number
  }

  #update(): void {
    const ier = this.#get(W.IER)
    const lsr = this.#get(W.LSR)
    let id: number = IIR.NO_INT
    if (ier & IER.RLSI && lsr & (LSR.OE | LSR.BI)) id = IIR.RLSI
    else if (ier & IER.RDI && lsr & LSR.DR) id = IIR.RDI
    else if (ier & IER.THRI && this.#get(W.THR_PENDING)) id = IIR.THRI
    this.#s[W.IIR] = id | (this.#get(W.FCR) & FCR.ENABLE ? IIR.FIFO : 0)
    const level = id !== IIR.NO_INT ? 1 : 0
    if (level !== this.#get(W.IRQ_LEVEL)) {
      this.#s[W.IRQ_LEVEL] = level
      this.#sink.setIrq(level === 1)
    }
  }

  /** A byte arriving on the line (or looped back): into the receive FIFO. */
  receive(byte: number): void {
    const count = this.#get(W.RX_COUNT)
    if (count >= RX_FIFO) {
      this.#s[W.LSR] = this.#get(W.LSR) | LSR.OE
    } else {
      this.#s[W.RX + ((this.#get(W.RX_HEAD) + count) % RX_FIFO)] = byte & 0xff
      this.#s[W.RX_COUNT] = count + 1
      this.#s[W.LSR] = this.#get(W.LSR) | LSR.DR
    }
    this.#update()
  }

  read(offset: number): number {
    const dlab = (this.#get(W.LCR) & LCR_DLAB) !== 0
    switch (offset) {
      case UART.RBR_THR_DLL: {
        if (dlab) return this.#get(W.DLL)
        const count = this.#get(W.RX_COUNT)
        if (count === 0) return 0
        const head = this.#get(W.RX_HEAD)
        const b = this.#get(W.RX + head)
        this.#s[W.RX_HEAD] = (head + 1) % RX_FIFO
        this.#s[W.RX_COUNT] = count - 1
        if (count === 1) this.#s[W.LSR] = this.#get(W.LSR) & ~(LSR.DR | LSR.BI)
        this.#update()
        return b
      }
      case UART.IER_DLM:
        return dlab ? this.#get(W.DLM) : this.#get(W.IER)
      case UART.IIR_FCR: {
        const iir = this.#get(W.IIR)
        // Reading IIR while it reports THRI acknowledges it (16550 datasheet; QEMU does the same).
        if ((iir & 0x0f) === IIR.THRI) {
          this.#s[W.THR_PENDING] = 0
          this.#update()
        }
        return iir
      }
      case UART.LCR:
        return this.#get(W.LCR)
      case UART.MCR:
        return this.#get(W.MCR)
      case UART.LSR: {
        const lsr = this.#get(W.LSR)
        if (lsr & (LSR.OE | LSR.BI)) {
          this.#s[W.LSR] = lsr & ~(LSR.OE | LSR.BI)
          this.#update()
        }
        return lsr
      }
      case UART.MSR: {
        const mcr = this.#get(W.MCR)
        if (mcr & MCR.LOOP) {
          // Loopback wires the modem outputs to the inputs: OUT2->DCD, OUT1->RI, DTR->DSR, RTS->CTS.
          return ((mcr & 0x0c) << 4) | ((mcr & MCR.RTS) << 3) | ((mcr & MCR.DTR) << 5)
        }
        return this.#get(W.MSR)
      }
      case UART.SCR:
        return this.#get(W.SCR)
      default:
        return 0xff
    }
  }

  write(offset: number, _size: number, value: number): void {
    const v = value & 0xff
    const dlab = (this.#get(W.LCR) & LCR_DLAB) !== 0
    switch (offset) {
      case UART.RBR_THR_DLL:
        if (dlab) {
          this.#s[W.DLL] = v
          return
        }
        // Sent at once: the transmitter is empty again, which is a new THRE interrupt.
        if (this.#get(W.MCR) & MCR.LOOP) this.receive(v)
        else this.#sink.transmit(v)
        this.#s[W.THR_PENDING] = 1
        this.#update()
        return
      case UART.IER_DLM: {
        if (dlab) {
          this.#s[W.DLM] = v
          return
        }
        const old = this.#get(W.IER)
        const ier = v & 0x0f
        this.#s[W.IER] = ier
        // Enabling THRI with the transmitter empty raises THRE at once; disabling drops it.
        if ((old ^ ier) & IER.THRI)
          this.#s[W.THR_PENDING] = ier & IER.THRI && this.#get(W.LSR) & LSR.THRE ? 1 : 0
        this.#update()
        return
      }
      case UART.IIR_FCR:
        if (v & FCR.CLEAR_RCVR) {
          this.#s[W.RX_COUNT] = 0
          this.#s[W.RX_HEAD] = 0
          this.#s[W.LSR] = this.#get(W.LSR) & ~(LSR.DR | LSR.BI)
        }
        this.#s[W.FCR] = v & 0xc9
        this.#update()
        return
      case UART.LCR:
        this.#s[W.LCR] = v
        return
      case UART.MCR:
        this.#s[W.MCR] = v & 0x1f
        return
      case UART.SCR:
        this.#s[W.SCR] = v
        return
      default:
        // LSR and MSR are read-only.
        return
    }
  }

  /** The IRQ line's level now. */
  get irqLevel(): boolean {
    return this.#get(W.IRQ_LEVEL) === 1
  }
}
