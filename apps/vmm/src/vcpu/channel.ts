// What a vCPU thread and the machine (main thread) say to each other. A vCPU thread posts
// messages; for an exit that needs the main thread's answer before the guest may go on (a
// hypercall, a backend request) it posts a call and sleeps on its call slot until the main
// thread writes the answer there. Shared memory layout of the slots is defined here.
import type { MessagePort } from 'node:worker_threads'
import type { XenVcpuAttr } from '@tsvmm/kvm-sys'
import type { PagingState } from '../boot/paging.js'
import type { CheckResult } from '../devices/guest-protocol.js'
import type { PlatformState } from '../devices/platform.js'

/** What the main thread hands each vCPU worker. */
export interface VcpuWorkerData {
  vmHandle: number
  vcpuHandle: number
  /** The vCPU index (APIC ID and Xen vCPU id). */
  index: number
  /** {@link SharedState} words, shared by every vCPU. */
  shared: SharedArrayBuffer
  /** This vCPU's call slot ({@link CALL}). */
  call: SharedArrayBuffer
  /** vCPU requests from the main thread ({@link VcpuRequest}), read between two KVM_RUNs. */
  requests: MessagePort
  /** Number of vCPUs (for the shared word layout). */
  vcpus: number
  /** Log unhandled port and MMIO accesses. */
  debug: boolean
  /** The PC platform devices (a Linux guest), shared by every vCPU thread. */
  platform?: PlatformState
}

/** Int32 words shared by the machine and all vCPU threads. */
export const SHARED = {
  /** Non-zero: every vCPU thread leaves its run loop. */
  STOP: 0,
  /** Exits to userspace of vCPU i are counted at EXITS + i (for the watchdog and the bench). */
  EXITS: 1,
} as const

/** Index of vCPU `i`'s "requests waiting" word, in a VM of `vcpus` vCPUs. */
export const requestsWord = (vcpus: number, i: number) => SHARED.EXITS + vcpus + i

/** Bytes of the shared words for `vcpus` vCPUs. */
export const sharedBytes = (vcpus: number) => 4 * (SHARED.EXITS + 2 * vcpus)

/** Something the main thread needs done on a vCPU's own thread (a vCPU ioctl). */
export type VcpuRequest = { t: 'attr'; attr: XenVcpuAttr }

/** A vCPU's call slot: Int32 state, then (at byte 8) the BigInt64 answer. */
export const CALL = {
  /** Int32 index of the state word. */
  STATE: 0,
  /** BigInt64 index of the answer. */
  ANSWER: 1,
  BYTES: 16,
} as const

/** States of a call slot. */
export const CALL_STATE = {
  /** The vCPU thread waits for the answer. */
  WAITING: 0,
  /** Answered: resume the guest. */
  RESUME: 1,
  /** Answered: the VM stops; do not resume the guest. */
  STOP: 2,
} as const

/** A hypercall forwarded to the main thread. */
export interface HypercallCall {
  t: 'hypercall'
  vcpu: number
  input: bigint
  params: bigint[]
  longMode: boolean
  cpl: number
  paging: PagingState
}

/** A backend request (OUT to the backend port) forwarded to the main thread. */
export interface BackendCall {
  t: 'backend'
  vcpu: number
  gpa: number
}

/** Why a vCPU thread left its run loop. */
export type VcpuStop =
  | { kind: 'stopped'; why?: string }
  | { kind: 'triple-fault'; rip: bigint }
  | { kind: 'internal-error'; suberror: number; rip: bigint }
  | { kind: 'fail-entry'; reason: bigint }
  | { kind: 'system-event'; type: number }
  | { kind: 'hlt'; rip: bigint }
  | { kind: 'error'; message: string }

/** Messages from a vCPU thread. */
export type VcpuMessage =
  | { t: 'ready'; vcpu: number }
  | { t: 'console'; vcpu: number; bytes: Uint8Array }
  | { t: 'result'; vcpu: number; result: CheckResult }
  | { t: 'protocol-error'; vcpu: number; message: string }
  | { t: 'unhandled'; vcpu: number; what: string }
  | { t: 'log'; vcpu: number; message: string }
  | HypercallCall
  | BackendCall
  | { t: 'exit'; vcpu: number; stop: VcpuStop }
  /** A platform device stopped the machine: ACPI S5 or the i8042 reset line. */
  | { t: 'platform'; vcpu: number; event: 'poweroff' | 'reset' }
