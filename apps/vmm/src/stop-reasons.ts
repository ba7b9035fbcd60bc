// Why a VM stops, and the exit code and one-line message each reason gets: the guest's own
// SCHEDOP_shutdown reasons (xen/include/public/sched.h) and the ways a vCPU leaves its run loop.
import { SHUTDOWN } from '@tsvmm/xen-evtchn'
import { EXIT, type ExitCode } from './errors.js'
import type { VcpuStop } from './vcpu/channel.js'

/** Why a VM stopped. */
export type StopReason =
  | 'poweroff'
  | 'crash'
  | 'reboot'
  | 'suspend'
  | 'guest-watchdog'
  | 'soft-reset'
  | 'triple-fault'
  | 'vm-error'
  | 'timeout'
  | 'watchdog'
  | 'signal'
  | 'duration'

/** A decision to stop the VM. */
export interface StopDecision {
  reason: StopReason
  message: string
  exitCode: ExitCode
}

const SHUTDOWN_REASONS: Record<number, StopReason> = {
  [SHUTDOWN.poweroff]: 'poweroff',
  [SHUTDOWN.reboot]: 'reboot',
  [SHUTDOWN.suspend]: 'suspend',
  [SHUTDOWN.crash]: 'crash',
  [SHUTDOWN.watchdog]: 'guest-watchdog',
  [SHUTDOWN.soft_reset]: 'soft-reset',
}
/** What SCHEDOP_shutdown with `reason` from `vcpu` stops the VM with. */
export function guestShutdownStop(reason: number, vcpu: number): StopDecision {
  const r = SHUTDOWN_REASONS[reason] ?? 'crash'
  switch (r) {
    case 'poweroff':
      return { reason: r, message: `the guest powered off (vCPU ${vcpu})`, exitCode: EXIT.OK }
    case 'crash':
      return {
        reason: r,
        message: `the guest crashed (SHUTDOWN_crash from vCPU ${vcpu})`,
        exitCode: EXIT.GUEST_FAILED,
      }
    default:
      return {
        reason: r,
        message: `the guest asked for ${r} (vCPU ${vcpu}), which tsvmm does not do: stopped`,
        exitCode: EXIT.GUEST_FAILED,
      }
  }
}

/** What a vCPU leaving its run loop stops the VM with; undefined when it left on a stop. */
export function vcpuStopStop(vcpu: number, s: VcpuStop): StopDecision | undefined {
  const hex = (v: bigint) => `0x${v.toString(16)}`
  const failed = (reason: StopReason, message: string): StopDecision => ({
    reason,
    message,
    exitCode: EXIT.VM_FAILED,
  })
  switch (s.kind) {
    case 'stopped':
      return undefined
    case 'triple-fault':
      // KVM has reset the vCPU by now (rip 0xfff0): its registers say nothing of the fault.
      return failed('triple-fault', `vCPU ${vcpu} triple-faulted (KVM_EXIT_SHUTDOWN)`)
    case 'internal-error':
      return failed(
        'vm-error',
        `vCPU ${vcpu}: KVM internal error, suberror ${s.suberror}, at rip ${hex(s.rip)}`,
      )
    case 'fail-entry':
      return failed(
        'vm-error',
        `vCPU ${vcpu}: KVM could not enter the guest (reason ${hex(s.reason)})`,
      )
    case 'system-event':
      return failed('vm-error', `vCPU ${vcpu}: KVM system event ${s.type}`)
    case 'hlt':
      return failed('vm-error', `vCPU ${vcpu} halted in userspace at rip ${hex(s.rip)}`)
    case 'error':
      return failed('vm-error', `vCPU ${vcpu}: ${s.message}`)
  }
}

/**
 * What a platform event stops a Linux guest with: ACPI S5 is a power-off (exit 0); a reset (the
 * i8042 line the FADT reset register points at, or a triple fault) is a stop with exit 0 under
 * --no-reboot, else exit 1, since tsvmm does not restart guests.
 */
export function platformStop(
  event: 'poweroff' | 'reset',
  vcpu: number,
  noReboot: boolean,
): StopDecision {
  if (event === 'poweroff')
    return {
      reason: 'poweroff',
      message: `the guest powered off (ACPI S5, vCPU ${vcpu})`,
      exitCode: EXIT.OK,
    }
  return noReboot
    ? {
        reason: 'reboot',
        message: `the guest rebooted (vCPU ${vcpu}): stopped (--no-reboot)`,
        exitCode: EXIT.OK,
      }
    : {
        reason: 'reboot',
        message: `the guest rebooted (vCPU ${vcpu}); tsvmm does not restart guests (--no-reboot makes this a stop)`,
        exitCode: EXIT.GUEST_FAILED,
      }
}

/**
 * A run's exit code and message from how it stopped and what it counted. A power-off is a pass
 * only with no failed check (else 1: the guest said something is wrong). An exception inside a
 * tsvmm hypercall handler is a tsvmm bug whatever the guest made of its -EFAULT: the run ends
 * with EXIT.INTERNAL (70) unless it already failed harder (the VM failed, or a signal stopped it).
 */
export function runVerdict(
  stop: StopDecision,
  failedChecks: number,
  vmmBugs: number,
): { exitCode: ExitCode; message: string } {
  let { exitCode, message } = stop
  if (stop.reason === 'poweroff' && failedChecks > 0) {
    exitCode = EXIT.GUEST_FAILED
    message = `${message}; ${failedChecks} check(s) failed`
  }
  if (vmmBugs > 0) {
    message = `${message}; ${vmmBugs} tsvmm bug(s) in hypercall handlers`
    if (exitCode === EXIT.OK || exitCode === EXIT.GUEST_FAILED) exitCode = EXIT.INTERNAL
  }
  return { exitCode, message }
}
