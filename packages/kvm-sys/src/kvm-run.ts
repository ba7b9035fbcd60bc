// Typed access to struct kvm_run, the page KVM shares with each vCPU thread. Reads go straight
// to the mapping (no copy): read an exit's fields before the next run().
import {
  KVM_EXIT_DEBUG,
  KVM_EXIT_EXCEPTION,
  KVM_EXIT_FAIL_ENTRY,
  KVM_EXIT_HLT,
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_HYPERV,
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_INTR,
  KVM_EXIT_IO,
  KVM_EXIT_IO_OUT,
  KVM_EXIT_IOAPIC_EOI,
  KVM_EXIT_IRQ_WINDOW_OPEN,
  KVM_EXIT_MMIO,
  KVM_EXIT_NMI,
  KVM_EXIT_NOTIFY,
  KVM_EXIT_SET_TPR,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_EXIT_TPR_ACCESS,
  KVM_EXIT_UNKNOWN,
  KVM_EXIT_X86_BUS_LOCK,
  KVM_EXIT_X86_RDMSR,
  KVM_EXIT_X86_WRMSR,
  KVM_EXIT_XEN,
  KVM_EXIT_XEN_HCALL,
  kvm_run,
} from './abi.js'
import { invalid } from './args.js'
import { KvmError } from './errors.js'

/** KVM_EXIT_IO: a port access. `data` is the bytes moved (size * count), in kvm_run. */
export interface IoExit {
  /** kvm_run.exit_reason: KVM_EXIT_IO. */
  reason: typeof KVM_EXIT_IO
  /** KVM_EXIT_IO_IN (0) or KVM_EXIT_IO_OUT (1). */
  direction: number
  /** True for OUT / OUTS (the guest wrote `data`), false for IN / INS. */
  isOut: boolean
  /** Access width in bytes: 1, 2 or 4. */
  size: number
  /** kvm_run.io.port: the I/O port (0-0xffff). */
  port: number
  /** Repetitions (string I/O); 1 for a plain IN/OUT. */
  count: number
  /** A view into kvm_run: read it for OUT, fill it for IN. */
  data: Uint8Array
}

/** KVM_EXIT_MMIO: a guest access to an address no memory region covers. */
export interface MmioExit {
  /** kvm_run.exit_reason: KVM_EXIT_MMIO. */
  reason: typeof KVM_EXIT_MMIO
  /** kvm_run.mmio.phys_addr: the guest physical address accessed (a number, as every GPA). */
  physAddr: number
  /** A view of the 8 data bytes (the first `len` are used): read for writes, fill for reads. */
  data: Uint8Array
  /** kvm_run.mmio.len: access width in bytes (1-8). */
  len: number
  /** kvm_run.mmio.is_write: true when the guest wrote. */
  isWrite: boolean
}

/**
 * KVM_EXIT_XEN: a Xen exit. With `type` KVM_EXIT_XEN_HCALL (the only type so far) it is a
 * hypercall to handle in userspace; {@link isXenHcall} tells.
 */
export interface XenHcallExit {
  /** kvm_run.exit_reason: KVM_EXIT_XEN. */
  reason: typeof KVM_EXIT_XEN
  /** kvm_run.xen.type: KVM_EXIT_XEN_HCALL is the only type so far. */
  type: number
  /** 1 if the guest was in 64-bit mode (params in rdi, rsi, rdx, r10, r8, r9). */
  longmode: number
  /** kvm_run.xen.u.hcall.cpl: the caller's privilege level (Xen rejects most calls from CPL 3). */
  cpl: number
  /** The hypercall number (rax / eax). */
  input: bigint
  /** kvm_run.xen.u.hcall.params: the six arguments, zero-extended to 64 bits. */
  params: [bigint, bigint, bigint, bigint, bigint, bigint]
}

/** KVM_EXIT_FAIL_ENTRY: the hardware refused to enter the guest. */
export interface FailEntryExit {
  /** kvm_run.exit_reason: KVM_EXIT_FAIL_ENTRY. */
  reason: typeof KVM_EXIT_FAIL_ENTRY
  /** kvm_run.fail_entry.hardware_entry_failure_reason: the VMX/SVM entry failure code. */
  hardwareEntryFailureReason: bigint
  /** kvm_run.fail_entry.cpu: the host CPU the entry failed on. */
  cpu: number
}

/** KVM_EXIT_INTERNAL_ERROR: KVM could not go on (e.g. emulation failed). */
export interface InternalErrorExit {
  /** kvm_run.exit_reason: KVM_EXIT_INTERNAL_ERROR. */
  reason: typeof KVM_EXIT_INTERNAL_ERROR
  /** KVM_INTERNAL_ERROR_EMULATION and friends. */
  suberror: number
  /** kvm_run.internal.data[0..ndata): suberror-specific details (at most 16). */
  data: bigint[]
}

/** KVM_EXIT_SYSTEM_EVENT: shutdown, reset, crash, ... requested by the guest. */
export interface SystemEventExit {
  /** kvm_run.exit_reason: KVM_EXIT_SYSTEM_EVENT. */
  reason: typeof KVM_EXIT_SYSTEM_EVENT
  /** KVM_SYSTEM_EVENT_SHUTDOWN and friends. */
  type: number
  /** kvm_run.system_event.data[0..ndata): architecture-specific details (at most 16). */
  data: bigint[]
}

/** KVM_EXIT_IOAPIC_EOI (split irqchip): the guest EOI'd a level-triggered vector. */
export interface IoapicEoiExit {
  /** kvm_run.exit_reason: KVM_EXIT_IOAPIC_EOI. */
  reason: typeof KVM_EXIT_IOAPIC_EOI
  /** kvm_run.eoi.vector: the vector the guest EOI'd. */
  vector: number
}

/** The exit reasons `exit()` decodes with no payload (HLT, SHUTDOWN, INTR when kicked, ...). */
export type PayloadFreeExitReason =
  | typeof KVM_EXIT_UNKNOWN
  | typeof KVM_EXIT_EXCEPTION
  | typeof KVM_EXIT_HYPERCALL
  | typeof KVM_EXIT_DEBUG
  | typeof KVM_EXIT_HLT
  | typeof KVM_EXIT_IRQ_WINDOW_OPEN
  | typeof KVM_EXIT_SHUTDOWN
  | typeof KVM_EXIT_INTR
  | typeof KVM_EXIT_SET_TPR
  | typeof KVM_EXIT_TPR_ACCESS
  | typeof KVM_EXIT_NMI
  | typeof KVM_EXIT_HYPERV
  | typeof KVM_EXIT_X86_RDMSR
  | typeof KVM_EXIT_X86_WRMSR
  | typeof KVM_EXIT_X86_BUS_LOCK
  | typeof KVM_EXIT_NOTIFY

const PAYLOAD_FREE: ReadonlySet<number> = new Set<PayloadFreeExitReason>([
  KVM_EXIT_UNKNOWN,
  KVM_EXIT_EXCEPTION,
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_DEBUG,
  KVM_EXIT_HLT,
  KVM_EXIT_IRQ_WINDOW_OPEN,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_INTR,
  KVM_EXIT_SET_TPR,
  KVM_EXIT_TPR_ACCESS,
  KVM_EXIT_NMI,
  KVM_EXIT_HYPERV,
  KVM_EXIT_X86_RDMSR,
  KVM_EXIT_X86_WRMSR,
  KVM_EXIT_X86_BUS_LOCK,
  KVM_EXIT_NOTIFY,
])

/** An exit whose details kvm-sys does not decode: only its reason. */
export interface PayloadFreeExit {
  /** kvm_run.exit_reason: one of {@link PayloadFreeExitReason}. */
  reason: PayloadFreeExitReason
}

/**
 * The `reason` of an exit whose number this version of kvm-sys does not know (a newer kernel's).
 * Not a KVM number: KVM's are all non-negative.
 */
export const EXIT_UNRECOGNISED = -1

/** An exit reason this version does not know; `exitReason` is the kernel's number. */
export interface UnrecognisedExit {
  /** Always {@link EXIT_UNRECOGNISED}, so that `reason` stays a discriminant. */
  reason: typeof EXIT_UNRECOGNISED
  /** kvm_run.exit_reason as the kernel wrote it. */
  exitReason: number
}

/**
 * One decoded exit, a union discriminated by `reason`: comparing `reason` with a KVM_EXIT_*
 * constant narrows it to that exit's shape.
 */
export type KvmExit =
  | IoExit
  | MmioExit
  | XenHcallExit
  | FailEntryExit
  | InternalErrorExit
  | SystemEventExit
  | IoapicEoiExit
  | PayloadFreeExit
  | UnrecognisedExit

/** Names of the exit reasons a VMM usually handles, for messages. */
export const EXIT_REASON_NAMES: Readonly<Record<number, string>> = {
  [KVM_EXIT_IO]: 'IO',
  [KVM_EXIT_HLT]: 'HLT',
  [KVM_EXIT_MMIO]: 'MMIO',
  [KVM_EXIT_SHUTDOWN]: 'SHUTDOWN',
  [KVM_EXIT_FAIL_ENTRY]: 'FAIL_ENTRY',
  [KVM_EXIT_INTR]: 'INTR',
  [KVM_EXIT_INTERNAL_ERROR]: 'INTERNAL_ERROR',
  [KVM_EXIT_SYSTEM_EVENT]: 'SYSTEM_EVENT',
  [KVM_EXIT_IOAPIC_EOI]: 'IOAPIC_EOI',
  [KVM_EXIT_XEN]: 'XEN',
}

/**
 * The kvm_run area of one vCPU, as seen from one thread. Field getters read the shared page
 * each time; `exit()` decodes the current exit into a plain object (views, not copies, for the
 * I/O data).
 */
export class KvmRun {
  /** The whole mapping (kvm_run plus the I/O data pages after it). */
  readonly bytes: Uint8Array
  /** A DataView over `bytes`, for hot paths that read fields by abi offsets. */
  readonly view: DataView

  /**
   * Wraps the ArrayBuffer the addon mapped over kvm_run. A detached one (a closed vCPU's) gives
   * a KvmRun whose every read is KvmError 'EBADF'.
   */
  constructor(buffer: ArrayBuffer) {
    if (!(buffer instanceof ArrayBuffer))
      throw invalid('kvm_run', 'buffer', buffer, 'an ArrayBuffer')
    // A detached buffer cannot back a view: stand an empty one in, which #live() refuses.
    const live = buffer.byteLength === 0 ? new ArrayBuffer(0) : buffer
    this.bytes = new Uint8Array(live)
    this.view = new DataView(live)
  }

  // The addon detaches this buffer when the vCPU is closed; every getter and setter asks first,
  // so a closed vCPU's kvm_run is EBADF like its ioctls, not a TypeError from the DataView.
  #live(): DataView {
    if (this.bytes.byteLength === 0) throw new KvmError(9, 'kvm_run', 'vcpu closed')
    return this.view
  }

  /** kvm_run.exit_reason of the last KVM_RUN. Throws KvmError 'EBADF' once the vCPU is closed. */
  get exitReason(): number {
    return this.#live().getUint32(kvm_run.exit_reason, true)
  }

  /** kvm_run.immediate_exit: when set, the next KVM_RUN returns at once with EINTR. */
  get immediateExit(): boolean {
    return this.#live().getUint8(kvm_run.immediate_exit) !== 0
  }
  /** Sets kvm_run.immediate_exit (another thread may set it to stop the vCPU). */
  set immediateExit(v: boolean) {
    this.#live().setUint8(kvm_run.immediate_exit, v ? 1 : 0)
  }

  /** kvm_run.request_interrupt_window: exit as soon as the guest can take an interrupt. */
  get requestInterruptWindow(): boolean {
    return this.#live().getUint8(kvm_run.request_interrupt_window) !== 0
  }
  /** Sets kvm_run.request_interrupt_window for the next KVM_RUN. */
  set requestInterruptWindow(v: boolean) {
    this.#live().setUint8(kvm_run.request_interrupt_window, v ? 1 : 0)
  }

  /** kvm_run.ready_for_interrupt_injection (userspace irqchip only). */
  get readyForInterruptInjection(): boolean {
    return this.#live().getUint8(kvm_run.ready_for_interrupt_injection) !== 0
  }

  /** kvm_run.if_flag: the guest's RFLAGS.IF at the exit. */
  get ifFlag(): boolean {
    return this.#live().getUint8(kvm_run.if_flag) !== 0
  }

  /** kvm_run.cr8. */
  get cr8(): bigint {
    return this.#live().getBigUint64(kvm_run.cr8, true)
  }

  /** kvm_run.apic_base. */
  get apicBase(): bigint {
    return this.#live().getBigUint64(kvm_run.apic_base, true)
  }

  /** The port access of a KVM_EXIT_IO. */
  get io(): IoExit {
    const v = this.#live()
    const direction = v.getUint8(kvm_run.io.direction)
    const size = v.getUint8(kvm_run.io.size)
    const count = v.getUint32(kvm_run.io.count, true)
    const offset = Number(v.getBigUint64(kvm_run.io.data_offset, true))
    // The kernel points inside the mapping; a bad offset must not become a RangeError later.
    const length = Math.min(size * count, Math.max(0, this.bytes.length - offset))
    return {
      reason: KVM_EXIT_IO,
      direction,
      isOut: direction === KVM_EXIT_IO_OUT,
      size,
      port: v.getUint16(kvm_run.io.port, true),
      count,
      data: this.bytes.subarray(offset, offset + length),
    }
  }

  /** The access of a KVM_EXIT_MMIO. */
  get mmio(): MmioExit {
    const v = this.#live()
    return {
      reason: KVM_EXIT_MMIO,
      physAddr: Number(v.getBigUint64(kvm_run.mmio.phys_addr, true)),
      data: this.bytes.subarray(kvm_run.mmio.data, kvm_run.mmio.data + 8),
      len: v.getUint32(kvm_run.mmio.len, true),
      isWrite: v.getUint8(kvm_run.mmio.is_write) !== 0,
    }
  }

  /** The hypercall of a KVM_EXIT_XEN (valid when `type` is KVM_EXIT_XEN_HCALL). */
  get xen(): XenHcallExit {
    const v = this.#live()
    const h = kvm_run.xen.u.hcall
    const p = (i: number) => v.getBigUint64(h.params + 8 * i, true)
    return {
      reason: KVM_EXIT_XEN,
      type: v.getUint32(kvm_run.xen.type, true),
      longmode: v.getUint32(h.longmode, true),
      cpl: v.getUint32(h.cpl, true),
      input: v.getBigUint64(h.input, true),
      params: [p(0), p(1), p(2), p(3), p(4), p(5)],
    }
  }

  /** kvm_run.xen.u.hcall.result: what the guest sees in rax when it resumes. */
  get xenHcallResult(): bigint {
    return this.#live().getBigUint64(kvm_run.xen.u.hcall.result, true)
  }
  /** Sets the hypercall's return value (truncated to u64) before the next KVM_RUN. */
  set xenHcallResult(v: bigint) {
    if (typeof v !== 'bigint') throw invalid('kvm_run', 'xenHcallResult', v, 'a bigint')
    this.#live().setBigUint64(kvm_run.xen.u.hcall.result, BigInt.asUintN(64, v), true)
  }

  /** The details of a KVM_EXIT_FAIL_ENTRY. */
  get failEntry(): FailEntryExit {
    return {
      reason: KVM_EXIT_FAIL_ENTRY,
      hardwareEntryFailureReason: this.#live().getBigUint64(
        kvm_run.fail_entry.hardware_entry_failure_reason,
        true,
      ),
      cpu: this.#live().getUint32(kvm_run.fail_entry.cpu, true),
    }
  }

  /** The details of a KVM_EXIT_INTERNAL_ERROR. */
  get internalError(): InternalErrorExit {
    const v = this.#live()
    const ndata = Math.min(v.getUint32(kvm_run.internal.ndata, true), 16)
    return {
      reason: KVM_EXIT_INTERNAL_ERROR,
      suberror: v.getUint32(kvm_run.internal.suberror, true),
      data: Array.from({ length: ndata }, (_, i) =>
        v.getBigUint64(kvm_run.internal.data + 8 * i, true),
      ),
    }
  }

  /** The details of a KVM_EXIT_SYSTEM_EVENT. */
  get systemEvent(): SystemEventExit {
    const v = this.#live()
    const ndata = Math.min(v.getUint32(kvm_run.system_event.ndata, true), 16)
    return {
      reason: KVM_EXIT_SYSTEM_EVENT,
      type: v.getUint32(kvm_run.system_event.type, true),
      data: Array.from({ length: ndata }, (_, i) =>
        v.getBigUint64(kvm_run.system_event.data + 8 * i, true),
      ),
    }
  }

  /** The current exit, decoded by its reason. */
  exit(): KvmExit {
    const reason = this.exitReason
    switch (reason) {
      case KVM_EXIT_IO:
        return this.io
      case KVM_EXIT_MMIO:
        return this.mmio
      case KVM_EXIT_XEN:
        return this.xen
      case KVM_EXIT_FAIL_ENTRY:
        return this.failEntry
      case KVM_EXIT_INTERNAL_ERROR:
        return this.internalError
      case KVM_EXIT_SYSTEM_EVENT:
        return this.systemEvent
      case KVM_EXIT_IOAPIC_EOI:
        return { reason, vector: this.#live().getUint8(kvm_run.eoi.vector) }
      default:
        return PAYLOAD_FREE.has(reason)
          ? { reason: reason as PayloadFreeExitReason }
          : { reason: EXIT_UNRECOGNISED, exitReason: reason }
    }
  }
}

/** True when a decoded exit is a Xen hypercall. */
export function isXenHcall(e: KvmExit): e is XenHcallExit {
  return e.reason === KVM_EXIT_XEN && e.type === KVM_EXIT_XEN_HCALL
}
