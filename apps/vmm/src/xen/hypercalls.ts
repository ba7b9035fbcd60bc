// Xen HVM hypercalls in TypeScript: the dispatch of every KVM_EXIT_XEN hypercall that reaches
// userspace, as Xen's hvm_hypercall table and QEMU's target/i386/kvm/xen-emu.c do it.
// xen_version, memory_op (add_to_physmap for shared_info), hvm_op (callback vector, per-vCPU
// upcall vector), vcpu_op (vcpu_info, timers, is_up), event_channel_op (the engine), sched_op
// (yield, block, poll, shutdown), set_timer_op and grant_table_op (grant-table.ts, with
// add_to_physmap of its frames); anything else is -ENOSYS.
// Nothing a guest passes can throw out of here: every argument is copied through bounds checks.
import type { GuestMemory } from '@tsvmm/guest-memory'
import {
  DOMID_SELF,
  HVMOP,
  HYPERVISOR,
  SCHEDOP,
  SHUTDOWN,
  VCPUOP,
  XENMAPSPACE,
  XENMEM,
  XenErrno,
} from '@tsvmm/xen-evtchn'
import type { PagingState } from '../boot/paging.js'
import type { GrantTable } from './grant-table.js'
import { GuestCopy } from './guest-copy.js'
import { type CallbackVia, HvmParams } from './hvm-params.js'
import { xenVersionOp } from './version.js'

/** Sizes of struct vcpu_runstate_info and struct vcpu_time_info (vcpu.h). */
const [RUNSTATE_INFO_SIZE, VCPU_TIME_INFO_SIZE] = [48, 32]
/** Xen refuses to poll more than this many ports at once (do_poll). */
const MAX_POLL_PORTS = 128
/** The largest EVTCHNOP argument (evtchn_status). */
const EVTCHN_ARG_MAX = 24
/** The largest VCPUOP argument tsvmm reads (vcpu_register_vcpu_info, the 64-bit singleshot). */
const VCPU_ARG_MAX = 16

/** A hypercall as KVM_EXIT_XEN reports it. */
export interface HypercallExit {
  /** The hypercall number (RAX). */
  input: bigint
  /** Up to six arguments, already taken from the 64- or 32-bit registers by KVM. */
  params: readonly bigint[]
  /** Whether the vCPU was in 64-bit mode. */
  longMode: boolean
  /** The vCPU's privilege level. */
  cpl: number
}

/** The part of `EvtchnEngine` (from @tsvmm/xen-evtchn) the hypercalls use. */
export interface EventChannels {
  hypercall(cmd: number | bigint, argGpa: number | bigint, vcpu: number): number
  vcpuOp(
    cmd: number | bigint,
    vcpuId: number | bigint,
    argGpa: number | bigint,
    caller: number,
  ): number
  setTimerOp(vcpu: number, timeout: number | bigint): number
  vcpuInfo(vcpu: number): number | null
  readonly geometry: { readonly portLimit: number }
}

/** What the hypercalls need from the machine around them. */
export interface XenPlatformHost {
  readonly memory: GuestMemory
  readonly vcpus: number
  /** This domain's id (what DOMID_SELF means). */
  readonly domid: number
  /** The Xen version presented: major << 16 | minor. */
  readonly xenVersion: number
  /** The domain handle XENVER_guest_handle returns (the VM's uuid, 16 bytes); zeros if absent. */
  readonly handle?: Uint8Array
  /** HVM parameters the toolstack sets before the guest runs (STORE_PFN, ...). */
  readonly params?: ReadonlyMap<number, bigint>
  readonly events: EventChannels
  /** The domain's grant table; absent: grant_table_op is -ENOSYS, as in a Xen built without. */
  readonly grantTable?: GrantTable
  /** Maps shared_info at `gpa` (page-aligned, inside RAM): 0 or a negative errno. */
  mapSharedInfo(gpa: number): number
  /** HVM_PARAM_CALLBACK_IRQ of the vector type; 0 turns the callback off. */
  setCallbackVector(vector: number): void
  /** VCPUOP_register_runstate_memory_area, translated: 0 or a negative errno. */
  setRunstateArea(vcpu: number, gpa: number): number
  /** VCPUOP_register_vcpu_time_memory_area, translated: 0 or a negative errno. */
  setVcpuTimeArea(vcpu: number, gpa: number): number
  /** HVMOP_set_evtchn_upcall_vector for `vcpu` (vector 0x10-0xff). */
  setUpcallVector(vcpu: number, vector: number): void
  /** The guest asked to stop the domain (SCHEDOP_shutdown). */
  shutdown(reason: number, vcpu: number): void
  /** Optional debug log. */
  log?(message: string): void
  /** An exception escaped a handler: a tsvmm bug (the guest gets -EFAULT). Counted, reported. */
  bug(message: string): void
}

/** The vCPU a hypercall comes from, and how to read its virtual addresses. */
export interface HypercallContext {
  readonly vcpu: number
  readonly paging: PagingState
}

const ERR = (e: number) => -e

/**
 * Dispatches hypercalls for one domain. `handle` returns what the guest gets in RAX as a signed
 * number; use {@link resultToRax} for KVM's u64 result field.
 */
export class XenPlatform {
  readonly #host: XenPlatformHost
  readonly #params = new HvmParams()
  readonly #shutdownCode: number[] = []

  constructor(host: XenPlatformHost) {
    this.#host = host
    for (const [index, value] of host.params ?? []) this.#params.preset(index, value)
  }

  /** HVM_PARAM_CALLBACK_IRQ as the guest last set it. */
  get callbackIrq(): bigint {
    return this.#params.get(0) as bigint
  }

  /** The calling vCPU's view of guest memory (copy_from_guest, copy_to_guest). */
  #guest(ctx: HypercallContext): GuestCopy {
    return new GuestCopy(this.#host.memory, ctx.paging)
  }

  /** Handles one hypercall. Never throws. */
  handle(exit: HypercallExit, ctx: HypercallContext): number {
    try {
      return this.#dispatch(exit, ctx)
    } catch (e) {
      // A bug in tsvmm must not take the VMM down with the guest's hypercall: the guest gets
      // EFAULT, and the bug is counted, so that the run cannot pass (a fuzz run would not see it).
      this.#host.bug(
        `hypercall ${exit.input} (${exit.params[0] ?? 0n}) from vCPU ${ctx.vcpu} threw: ${String(e)}`,
      )
      return ERR(XenErrno.EFAULT)
    }
  }

  #dispatch(exit: HypercallExit, ctx: HypercallContext): number {
    // Xen refuses hypercalls from guest user mode (hvm_hypercall: -EPERM for CPL > 0).
    if (exit.cpl !== 0) return ERR(XenErrno.EPERM)
    const p = (i: number) => exit.params[i] ?? 0n
    const width = exit.longMode ? 64n : 32n
    const arg = (i: number) => BigInt.asUintN(Number(width), p(i))
    if (exit.input > 0xffffn) return ERR(XenErrno.ENOSYS)
    switch (Number(exit.input)) {
      case HYPERVISOR.xen_version:
        return xenVersionOp(
          this.#guest(ctx),
          { version: this.#host.xenVersion, handle: this.#host.handle },
          Number(BigInt.asIntN(32, p(0))),
          arg(1),
          exit.longMode,
        )
      case HYPERVISOR.memory_op:
        return this.#memoryOp(Number(BigInt.asUintN(32, p(0))), arg(1), exit, ctx)
      case HYPERVISOR.hvm_op:
        return this.#hvmOp(Number(BigInt.asUintN(32, p(0))), arg(1), ctx)
      case HYPERVISOR.vcpu_op:
        return this.#vcpuOp(Number(BigInt.asUintN(32, p(0))), BigInt.asUintN(32, p(1)), arg(2), ctx)
      case HYPERVISOR.event_channel_op: {
        const gpa = this.#guest(ctx).argGpa(arg(1), EVTCHN_ARG_MAX)
        if (gpa === null) return ERR(XenErrno.EFAULT)
        return this.#host.events.hypercall(BigInt.asUintN(32, p(0)), gpa, ctx.vcpu)
      }
      case HYPERVISOR.sched_op:
        return this.#schedOp(Number(BigInt.asUintN(32, p(0))), arg(1), exit, ctx)
      case HYPERVISOR.set_timer_op: {
        // The compat ABI passes the 64-bit timeout in two registers.
        const t = exit.longMode
          ? p(0)
          : BigInt.asUintN(32, p(0)) | (BigInt.asUintN(32, p(1)) << 32n)
        return this.#host.events.setTimerOp(ctx.vcpu, BigInt.asUintN(64, t))
      }
      case HYPERVISOR.grant_table_op: {
        // (unsigned int cmd, void *uop, unsigned int count)
        const table = this.#host.grantTable
        if (table === undefined) return ERR(XenErrno.ENOSYS)
        const [cmd, count] = [Number(BigInt.asUintN(32, p(0))), Number(BigInt.asUintN(32, p(2)))]
        return table.op(cmd, arg(1), count, this.#guest(ctx), exit.longMode)
      }
      default:
        this.#host.log?.(`hypercall ${exit.input} from vCPU ${ctx.vcpu}: -ENOSYS`)
        return ERR(XenErrno.ENOSYS)
    }
  }

  #isSelf(domid: number): boolean {
    return domid === DOMID_SELF || domid === this.#host.domid
  }

  // XENMEM_add_to_physmap for shared_info and grant frames (xenmem_add_to_physmap_one)
  #memoryOp(cmd: number, argVa: bigint, exit: HypercallExit, ctx: HypercallContext): number {
    // The low bits are the command; the rest is a continuation start extent.
    if ((cmd & 0x3f) !== XENMEM.add_to_physmap || cmd >>> 6 !== 0) return ERR(XenErrno.ENOSYS)
    // struct xen_add_to_physmap: domid u16, size u16, space u32, idx xen_ulong_t, gpfn xen_pfn_t
    const size = exit.longMode ? 24 : 16
    const a = this.#guest(ctx).read(argVa, size)
    if (a === null) return ERR(XenErrno.EFAULT)
    const domid = a.getUint16(0, true)
    const space = a.getUint32(4, true)
    const idx = exit.longMode ? a.getBigUint64(8, true) : BigInt(a.getUint32(8, true))
    const gpfn = exit.longMode ? a.getBigUint64(16, true) : BigInt(a.getUint32(12, true))
    if (!this.#isSelf(domid)) return ERR(XenErrno.ESRCH)
    switch (space) {
      case XENMAPSPACE.shared_info: {
        if (idx !== 0n) return ERR(XenErrno.EINVAL)
        const gpa = gpfn << 12n
        // shared_info lives in guest RAM here: tsvmm has no overlay pages to map elsewhere.
        if (gpa > BigInt(Number.MAX_SAFE_INTEGER) || !this.#host.memory.contains(Number(gpa), 4096))
          return ERR(XenErrno.EINVAL)
        return this.#host.mapSharedInfo(Number(gpa))
      }
      case XENMAPSPACE.grant_table:
        return this.#host.grantTable?.mapFrame(idx, gpfn) ?? ERR(XenErrno.EOPNOTSUPP)
      case XENMAPSPACE.gmfn:
      case XENMAPSPACE.gmfn_range:
        return ERR(XenErrno.EOPNOTSUPP)
      case XENMAPSPACE.gmfn_foreign:
      case XENMAPSPACE.dev_mmio:
        return ERR(XenErrno.EPERM)
      default:
        return ERR(XenErrno.EINVAL)
    }
  }

  // do_hvm_op (xen/arch/x86/hvm/hvm.c)
  #hvmOp(op: number, argVa: bigint, ctx: HypercallContext): number {
    switch (op) {
      case HVMOP.set_param:
      case HVMOP.get_param: {
        // struct xen_hvm_param: domid u16, index u32 @4, value u64 @8 (16 bytes in both ABIs)
        const a = this.#guest(ctx).read(argVa, 16)
        if (a === null) return ERR(XenErrno.EFAULT)
        if (!this.#isSelf(a.getUint16(0, true))) return ERR(XenErrno.ESRCH)
        const index = a.getUint32(4, true)
        if (op === HVMOP.get_param) {
          const value = this.#params.get(index)
          if (typeof value === 'number') return value
          const out = new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + 16))
          new DataView(out.buffer).setBigUint64(8, value, true)
          return this.#guest(ctx).write(argVa, out) ? 0 : ERR(XenErrno.EFAULT)
        }
        const via = this.#params.set(index, a.getBigUint64(8, true))
        if (typeof via === 'number') return via
        this.#applyCallback(via)
        return 0
      }
      case HVMOP.set_evtchn_upcall_vector: {
        // struct xen_hvm_evtchn_upcall_vector: vcpu u32, vector u8 (8 bytes)
        const a = this.#guest(ctx).read(argVa, 8)
        if (a === null) return ERR(XenErrno.EFAULT)
        const vcpu = a.getUint32(0, true)
        const vector = a.getUint8(4)
        if (vector < 0x10) return ERR(XenErrno.EINVAL)
        if (vcpu >= this.#host.vcpus) return ERR(XenErrno.ENOENT)
        this.#host.setUpcallVector(vcpu, vector)
        return 0
      }
      default:
        return ERR(XenErrno.ENOSYS)
    }
  }

  // hvm_set_callback_via: the vector type is delivered, 0 turns it off; a GSI or PCI INTx is
  // stored only (hvm-params.ts says why) and leaves the vector delivery as it was.
  #applyCallback(via: CallbackVia): void {
    if (via.type === 'vector') this.#host.setCallbackVector(via.vector)
    else if (via.type === 'off') this.#host.setCallbackVector(0)
    else this.#host.log?.(`HVM_PARAM_CALLBACK_IRQ ${via.type}: stored, not delivered through`)
  }

  // do_vcpu_op (xen/common/domain.c): the target vCPU must exist first.
  #vcpuOp(cmd: number, vcpuId: bigint, argVa: bigint, ctx: HypercallContext): number {
    if (vcpuId >= BigInt(this.#host.vcpus)) return ERR(XenErrno.ENOENT)
    const vcpu = Number(vcpuId)
    if (cmd === VCPUOP.is_up) return 1
    if (cmd === VCPUOP.register_runstate_memory_area)
      return this.#guestArea(ctx, argVa, RUNSTATE_INFO_SIZE, (gpa) =>
        this.#host.setRunstateArea(vcpu, gpa),
      )
    if (cmd === VCPUOP.register_vcpu_time_memory_area)
      return this.#guestArea(ctx, argVa, VCPU_TIME_INFO_SIZE, (gpa) =>
        this.#host.setVcpuTimeArea(vcpu, gpa),
      )
    const gpa = this.#guest(ctx).argGpa(argVa, VCPU_ARG_MAX)
    // Commands without an argument (stop timers) must not fail on a NULL pointer.
    // register_vcpu_info reaches KVM through the engine's observer (the kernel offload).
    return this.#host.events.vcpuOp(cmd, vcpu, gpa ?? Number.MAX_SAFE_INTEGER, ctx.vcpu)
  }

  // The runstate and time areas are registered by guest virtual address (a union of handle,
  // pointer and u64); Xen keeps the virtual address, KVM wants a physical one, so it is
  // translated now, as QEMU's xen-emu.c does (vcpuop_register_runstate_info).
  #guestArea(
    ctx: HypercallContext,
    argVa: bigint,
    size: number,
    register: (gpa: number) => number,
  ): number {
    const guest = this.#guest(ctx)
    const a = guest.read(argVa, 8)
    if (a === null) return ERR(XenErrno.EFAULT)
    const gpa = guest.argGpa(a.getBigUint64(0, true), size)
    if (gpa === null || !this.#host.memory.contains(gpa, size)) return ERR(XenErrno.EFAULT)
    return register(gpa)
  }

  // do_sched_op (xen/common/sched/core.c)
  #schedOp(cmd: number, argVa: bigint, exit: HypercallExit, ctx: HypercallContext): number {
    switch (cmd) {
      case SCHEDOP.yield:
        return 0
      case SCHEDOP.block:
        // A wake-up with nothing pending is allowed: the guest re-checks and blocks again.
        return 0
      case SCHEDOP.shutdown: {
        const a = this.#guest(ctx).read(argVa, 4)
        if (a === null) return ERR(XenErrno.EFAULT)
        const reason = a.getUint32(0, true)
        if (reason > SHUTDOWN.soft_reset) return ERR(XenErrno.EINVAL)
        this.#host.shutdown(reason, ctx.vcpu)
        return 0
      }
      case SCHEDOP.remote_shutdown: {
        // struct sched_remote_shutdown: domid u16, reason u32 @4
        const a = this.#guest(ctx).read(argVa, 8)
        if (a === null) return ERR(XenErrno.EFAULT)
        if (!this.#isSelf(a.getUint16(0, true))) return ERR(XenErrno.ESRCH)
        const reason = a.getUint32(4, true)
        if (reason > SHUTDOWN.soft_reset) return ERR(XenErrno.EINVAL)
        this.#host.shutdown(reason, ctx.vcpu)
        return 0
      }
      case SCHEDOP.shutdown_code: {
        const a = this.#guest(ctx).read(argVa, 4)
        if (a === null) return ERR(XenErrno.EFAULT)
        this.#shutdownCode[0] = a.getUint32(0, true)
        return 0
      }
      case SCHEDOP.poll:
        return this.#poll(argVa, exit, ctx)
      default:
        return ERR(XenErrno.ENOSYS)
    }
  }

  // SCHEDOP_poll: arguments checked as do_poll does; then an immediate return, which the ABI
  // allows (a spurious wake-up), whether or not a polled port is pending.
  #poll(argVa: bigint, exit: HypercallExit, ctx: HypercallContext): number {
    // struct sched_poll: ports handle, nr_ports u32, timeout u64 (24 bytes; 16 in compat)
    const a = this.#guest(ctx).read(argVa, exit.longMode ? 24 : 16)
    if (a === null) return ERR(XenErrno.EFAULT)
    const portsVa = exit.longMode ? a.getBigUint64(0, true) : BigInt(a.getUint32(0, true))
    const nr = a.getUint32(exit.longMode ? 8 : 4, true)
    if (nr > MAX_POLL_PORTS) return ERR(XenErrno.EINVAL)
    if (nr === 0) return 0
    const ports = this.#guest(ctx).read(portsVa, nr * 4)
    if (ports === null) return ERR(XenErrno.EFAULT)
    const limit = this.#host.events.geometry.portLimit
    for (let i = 0; i < nr; i++)
      if (ports.getUint32(i * 4, true) >= limit) return ERR(XenErrno.EINVAL)
    return 0
  }
}

/** A signed hypercall result as the u64 KVM puts in RAX. */
export function resultToRax(result: number): bigint {
  return BigInt.asUintN(64, BigInt(Math.trunc(result)))
}
