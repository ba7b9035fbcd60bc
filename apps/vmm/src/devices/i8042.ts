// The PS/2 controller's reset line: writing command 0xfe to port 0x64 pulses CPU reset, which is
// how Linux reboots when the ACPI reset register (pointing here) or reboot=k asks for it
// (arch/x86/kernel/reboot.c, native_machine_emergency_restart). There is no keyboard: the FADT
// does not claim an 8042, so Linux's i8042 driver never probes, and the status register reads
// "input buffer empty" so the reboot path's kb_wait() does not spin.
import type { PortDevice } from './port-bus.js'

/** The controller's data and command/status ports. */
export const I8042_PORTS = { DATA: 0x60, COMMAND: 0x64 } as const
/** Command 0xfe: pulse output line 0 (CPU reset). */
export const I8042_CMD_RESET = 0xfe
/** Status: system flag set (self-test passed), both buffers empty. */
const STATUS_IDLE = 0x04

/** An i8042 that only knows how to reset the machine. Add it at 0x60 with length 5. */
export class I8042 implements PortDevice {
  readonly #reset: () => void

  constructor(reset: () => void) {
    this.#reset = reset
  }

  read(offset: number): number {
    return offset === I8042_PORTS.COMMAND - I8042_PORTS.DATA ? STATUS_IDLE : 0
  }

  write(offset: number, _size: number, value: number): void {
    if (offset === I8042_PORTS.COMMAND - I8042_PORTS.DATA && (value & 0xff) === I8042_CMD_RESET)
      this.#reset()
  }
}
