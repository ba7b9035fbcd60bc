// The raw addon (src/native/*.cc) and its loader. Internal: the public classes wrap it.
// src/ and dist/ both sit one level below the package root, so the same path works for both.
import { constants } from 'node:buffer'
import { fileURLToPath } from 'node:url'
import { KvmError } from './errors.js'
import { loadAddon } from './load-addon.js'

/** One ioctl of the addon's table (src/native/uapi.c); `ioctl(index, arg)` issues it. */
export interface NativeIoctl {
  readonly name: string
  readonly nr: number
  readonly fd: 'system' | 'vm' | 'vcpu'
  readonly arg: 'none' | 'value' | 'struct' | 'array'
  /** sizeof the struct, or of the header of an array ioctl. */
  readonly size: number
  /** sizeof one entry of an array ioctl. */
  readonly entrySize: number
}

/** Argument of a table ioctl: nothing, a value, or the bytes of its struct. */
export type IoctlArg = number | bigint | Uint8Array | undefined

/** An open /dev/kvm. */
export interface NativeKvm {
  ioctl(index: number, arg?: IoctlArg): number
  createVm(type: number): NativeVm
  close(): void
  readonly closed: boolean
}

/** A region as the addon reports it. */
export interface NativeRegion {
  readonly slot: number
  readonly flags: number
  /** 64-bit in the addon; Vm turns it into a number (every GPA is below 2^52). */
  readonly guestPhysAddr: bigint
  readonly size: number
  readonly hostAddress: bigint
}

/** A VM fd, as seen from one thread. */
export interface NativeVm {
  ioctl(index: number, arg?: IoctlArg): number
  createVcpu(id: number): NativeVcpu
  /** mmaps guest memory and registers it; returns its host virtual address. */
  addMemoryRegion(slot: number, guestPhysAddr: bigint, size: number, flags: number): bigint
  removeMemoryRegion(slot: number): void
  /** A new ArrayBuffer over the region, detached when this thread's wrapper drops it. */
  regionBuffer(slot: number): ArrayBuffer
  regions(): NativeRegion[]
  close(): void
  readonly closed: boolean
  readonly handle: number
}

/** A vCPU fd, as seen from one thread. */
export interface NativeVcpu {
  ioctl(index: number, arg?: IoctlArg): number
  /** KVM_RUN; returns the exit reason (KVM_EXIT_INTR when kicked or signalled). */
  run(): number
  kick(): void
  /** A new ArrayBuffer over kvm_run. */
  runBuffer(): ArrayBuffer
  close(): void
  readonly closed: boolean
  readonly handle: number
  readonly id: number
  readonly vmHandle: number
}

/** An eventfd. */
export interface NativeEventFd {
  read(): bigint | null
  write(value: bigint | number): void
  close(): void
  /** Calls `callback(status)` on this thread's loop when the fd is readable (status < 0: error). */
  watch(callback: (status: number) => void): void
  unwatch(): void
  /** The fd number, or -1 once closed. */
  readonly fd: number
  readonly watching: boolean
}

/** The raw addon, as addon.cc exports it. The public API wraps it; nothing else should use it. */
export interface Native {
  /** Constants, sizes and ioctl numbers as the C compiler computed them from <linux/kvm.h>. */
  readonly uapi: Readonly<Record<string, number>>
  readonly ioctls: readonly NativeIoctl[]
  /** The signal that kicks a vCPU thread out of KVM_RUN (SIGRTMIN). */
  readonly kickSignal: number
  readonly pageSize: number
  setErrorFactory(make: (errno: number, syscall: string, detail?: string) => Error): void
  /**
   * The largest ArrayBuffer this Node makes (buffer.constants.MAX_LENGTH): a positive safe
   * integer, else KvmError EINVAL. Returns the limit in force.
   */
  setMaxBufferLength(length: number): number
  openKvm(path: string): NativeKvm
  attachVm(handle: number): NativeVm
  attachVcpu(handle: number): NativeVcpu
  createEventFd(initval: number, nonBlocking: boolean, semaphore: boolean): NativeEventFd
}

let native: Native | undefined
let opIndex: Map<string, number> | undefined

/** The addon, loaded on first use so that importing the package never fails by itself. */
export function loadNative(): Native {
  if (native === undefined) {
    const n = loadAddon(fileURLToPath(new URL('..', import.meta.url))) as Native
    n.setErrorFactory((errno, syscall, detail) => new KvmError(errno, syscall, detail))
    n.setMaxBufferLength(constants.MAX_LENGTH)
    native = n
  }
  return native
}

/** Index of an ioctl in the addon's table, by name and fd kind (`KVM_GET_REGS`, 'vcpu'). */
export function op(name: string, fd: NativeIoctl['fd']): number {
  if (opIndex === undefined) {
    opIndex = new Map()
    loadNative().ioctls.forEach((o, i) => {
      opIndex?.set(`${o.fd}:${o.name}`, i)
    })
  }
  const i = opIndex.get(`${fd}:${name}`)
  // Only reachable if src/ and the addon's table disagree: a broken build, not a bad argument.
  if (i === undefined) throw new Error(`kvm-sys: no ${fd} ioctl ${name} in the addon`)
  return i
}
