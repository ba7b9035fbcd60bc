// What a Machine (machine.ts) takes and gives: its options, where its output goes, and the
// outcome of a run.
import type { VmSpec } from './builder.js'
import type { CheckResult } from './devices/guest-protocol.js'
import type { ExitCode } from './errors.js'
import type { LogLevel, RunConfig } from './run-config.js'
import type { StopReason } from './stop-reasons.js'
import type { ActiveDelivery } from './xen/events.js'

/** What a run ended with. */
export interface RunOutcome {
  exitCode: ExitCode
  reason: StopReason
  /** One line saying why the VM stopped. */
  message: string
  delivery: ActiveDelivery
  width: 64 | 32
  results: CheckResult[]
  passed: number
  failed: number
  /** Exceptions inside tsvmm's hypercall handlers (each a tsvmm bug; the guest got -EFAULT). */
  vmmBugs: number
  /**
   * Hypercalls tsvmm served (KVM_EXIT_XEN), all vCPUs. Those KVM serves itself in kernel delivery
   * (its EVTCHNOP_send, SCHEDOP_poll and timer fast paths) never reach tsvmm and are not counted.
   */
  hypercalls: number
  /** Exits to userspace, all vCPUs. */
  exits: number
  /** From starting the vCPU threads to the stop decision. */
  runMs: number
  /** Exits and time from `measureAfterMs` to the stop, when that was asked for (the bench). */
  window?: { exits: number; ms: number }
}

/** Where a machine's output goes. */
export interface MachineOutput {
  console(vcpu: number, line: string): void
  /** A line from the guest's serial port (a Linux guest's ttyS0). */
  serial(line: string): void
  /** Bytes from the guest's PV console (a Linux guest's hvc0), as the guest wrote them. */
  hvc(bytes: Uint8Array): void
  result(result: CheckResult): void
  log(level: LogLevel, message: string): void
}

/** A run's configuration plus knobs for tests and the bench. */
export interface MachineOptions extends RunConfig, Omit<VmSpec, 'cmdline' | 'initrd'> {
  /** Stop (successfully) after this long: the bench's run. */
  durationMs?: number
  /** Start counting exits for {@link RunOutcome.window} this long after the start (a warm-up). */
  measureAfterMs?: number
}
