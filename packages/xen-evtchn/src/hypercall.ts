// Guest hypercall arguments: HYPERVISOR_event_channel_op and the timer/vcpu_info commands of
// HYPERVISOR_vcpu_op. Like Xen's copy_from_guest, the whole argument struct is copied out of guest
// memory before any field is looked at (-EFAULT if any byte is outside guest RAM), the copy is
// decoded, and results are written back (copy_to_guest) only on success. Nothing a guest passes
// can throw: every value is range-checked and every guest memory access is caught.
import type { GuestMemory } from '@tsvmm/guest-memory'
import { XenErrno } from './errno.js'
import {
  EVTCHNOP,
  EVTCHNOP_ARGS,
  PAGE_SIZE,
  VCPU_SSHOTTMR_future,
  VCPUOP,
  VCPUOP_ARGS,
} from './layout.js'
import type { PortTable } from './ports.js'

const E = XenErrno

/** A register value as the VMM read it: a u64 as bigint, or a number. */
export type RegisterValue = number | bigint

/** Guest-memory access for hypercall arguments. */
interface ArgCopy {
  bytes: Uint8Array
  view: DataView
}

/** A register as a safe non-negative integer, or -1 if it is not one. */
export function registerToNumber(v: RegisterValue): number {
  if (typeof v === 'bigint') return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : -1
  return Number.isSafeInteger(v) && v >= 0 ? v : -1
}

/** copy_from_guest: the whole struct at `gpa`, or null if any byte is outside guest RAM. */
export function copyFromGuest(
  memory: GuestMemory,
  gpa: RegisterValue,
  size: number,
): ArgCopy | null {
  const at = registerToNumber(gpa)
  if (at < 0 || !memory.contains(at, size)) return null
  try {
    const bytes = memory.read(at, size)
    return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) }
  } catch {
    return null
  }
}

/** copy_to_guest: writes the struct back; false if it no longer fits guest RAM. */
export function copyToGuest(memory: GuestMemory, gpa: RegisterValue, arg: ArgCopy): boolean {
  try {
    memory.write(registerToNumber(gpa), arg.bytes)
    return true
  } catch {
    return false
  }
}

/**
 * HYPERVISOR_event_channel_op(cmd, arg) for a guest vCPU. Returns what the guest sees in RAX:
 * 0 (or the op's result), or a negative Xen errno. FIFO ops, bind_pirq and unknown commands are
 * -ENOSYS (as QEMU); an argument outside guest RAM is -EFAULT.
 */
export function eventChannelOp(
  ports: PortTable,
  memory: GuestMemory,
  cmd: RegisterValue,
  argGpa: RegisterValue,
): number {
  const op = registerToNumber(cmd)
  switch (op) {
    case EVTCHNOP.alloc_unbound: {
      const L = EVTCHNOP_ARGS.alloc_unbound
      const a = copyFromGuest(memory, argGpa, L.size)
      if (a === null) return -E.EFAULT
      const port = ports.allocUnbound(
        a.view.getUint16(L.dom, true),
        a.view.getUint16(L.remote_dom, true),
      )
      return port < 0 ? port : writeBack(memory, argGpa, a, L.port, port)
    }
    case EVTCHNOP.bind_interdomain: {
      const L = EVTCHNOP_ARGS.bind_interdomain
      const a = copyFromGuest(memory, argGpa, L.size)
      if (a === null) return -E.EFAULT
      const port = ports.bindInterdomain(
        a.view.getUint16(L.remote_dom, true),
        a.view.getUint32(L.remote_port, true),
      )
      return port < 0 ? port : writeBack(memory, argGpa, a, L.local_port, port)
    }
    case EVTCHNOP.bind_virq: {
      const L = EVTCHNOP_ARGS.bind_virq
      const a = copyFromGuest(memory, argGpa, L.size)
      if (a === null) return -E.EFAULT
      const port = ports.bindVirq(a.view.getUint32(L.virq, true), a.view.getUint32(L.vcpu, true))
      return port < 0 ? port : writeBack(memory, argGpa, a, L.port, port)
    }
    case EVTCHNOP.bind_ipi: {
      const L = EVTCHNOP_ARGS.bind_ipi
      const a = copyFromGuest(memory, argGpa, L.size)
      if (a === null) return -E.EFAULT
      const port = ports.bindIpi(a.view.getUint32(L.vcpu, true))
      return port < 0 ? port : writeBack(memory, argGpa, a, L.port, port)
    }
    case EVTCHNOP.close: {
      const a = copyFromGuest(memory, argGpa, EVTCHNOP_ARGS.close.size)
      if (a === null) return -E.EFAULT
      return ports.close(a.view.getUint32(EVTCHNOP_ARGS.close.port, true))
    }
    case EVTCHNOP.send: {
      const a = copyFromGuest(memory, argGpa, EVTCHNOP_ARGS.send.size)
      if (a === null) return -E.EFAULT
      return ports.send(a.view.getUint32(EVTCHNOP_ARGS.send.port, true))
    }
    case EVTCHNOP.status: {
      const L = EVTCHNOP_ARGS.status
      const a = copyFromGuest(memory, argGpa, L.size)
      if (a === null) return -E.EFAULT
      const s = ports.status(a.view.getUint16(L.dom, true), a.view.getUint32(L.port, true))
      if (typeof s === 'number') return s
      a.view.setUint32(L.status, s.status, true)
      a.view.setUint32(L.vcpu, s.vcpu, true)
      if (s.dom !== undefined) a.view.setUint16(L.u, s.dom, true)
      if (s.port !== undefined) a.view.setUint32(L.interdomain_port, s.port, true)
      if (s.virq !== undefined) a.view.setUint32(L.u, s.virq, true)
      if (s.pirq !== undefined) a.view.setUint32(L.u, s.pirq, true)
      return copyToGuest(memory, argGpa, a) ? 0 : -E.EFAULT
    }
    case EVTCHNOP.unmask: {
      const a = copyFromGuest(memory, argGpa, EVTCHNOP_ARGS.unmask.size)
      if (a === null) return -E.EFAULT
      return ports.unmask(a.view.getUint32(EVTCHNOP_ARGS.unmask.port, true))
    }
    case EVTCHNOP.bind_vcpu: {
      const L = EVTCHNOP_ARGS.bind_vcpu
      const a = copyFromGuest(memory, argGpa, L.size)
      if (a === null) return -E.EFAULT
      return ports.bindVcpu(a.view.getUint32(L.port, true), a.view.getUint32(L.vcpu, true))
    }
    case EVTCHNOP.reset: {
      const a = copyFromGuest(memory, argGpa, EVTCHNOP_ARGS.reset.size)
      if (a === null) return -E.EFAULT
      return ports.reset(a.view.getUint16(EVTCHNOP_ARGS.reset.dom, true))
    }
    default:
      // bind_pirq (no PIRQs are emulated), init_control, expand_array, set_priority,
      // reset_cont (FIFO ABI, as QEMU) and anything unknown.
      return -E.ENOSYS
  }
}

function writeBack(
  memory: GuestMemory,
  gpa: RegisterValue,
  a: ArgCopy,
  offset: number,
  port: number,
): number {
  a.view.setUint32(offset, port, true)
  return copyToGuest(memory, gpa, a) ? 0 : -E.EFAULT
}

/** What the vcpu_op commands need from the engine. */
export interface VcpuOpTarget {
  /** Guest memory the argument structs are read from. */
  readonly memory: GuestMemory
  /** Guest width: picks the 16- or 12-byte vcpu_set_singleshot_timer layout. */
  readonly longMode: boolean
  /** Whether `vcpu` names an existing vCPU (else the op is -ENOENT). */
  validVcpu(vcpu: number): boolean
  /** VCPUOP_set_singleshot_timer: 0 (VCPU_SSHOTTMR_future is ignored, as in current Xen and KVM). */
  setSingleshot(vcpu: number, timeoutAbsNs: bigint, future: boolean): number
  /** VCPUOP_stop_singleshot_timer. */
  stopSingleshot(vcpu: number): void
  /** VCPUOP_set_periodic_timer: 0, or -EINVAL for a period below 1 ms or above the limit. */
  setPeriodic(vcpu: number, periodNs: bigint): number
  /** VCPUOP_stop_periodic_timer. */
  stopPeriodic(vcpu: number): void
  /** VCPUOP_register_vcpu_info at guest physical address `gpa`: 0 or a negative errno. */
  registerVcpuInfo(vcpu: number, gpa: number): number
}

/**
 * HYPERVISOR_vcpu_op(cmd, vcpuid, arg) for the commands the engine owns: the singleshot and
 * periodic timers and register_vcpu_info (do_vcpu_op, xen/common/domain.c). -ENOENT for an
 * unknown target vCPU; -EINVAL when a singleshot timer op targets another vCPU than the caller;
 * -ENOSYS for every other command (the VMM serves those).
 */
export function vcpuOp(
  target: VcpuOpTarget,
  cmd: RegisterValue,
  vcpuId: RegisterValue,
  argGpa: RegisterValue,
  caller: number,
): number {
  const op = registerToNumber(cmd)
  if (
    op !== VCPUOP.set_periodic_timer &&
    op !== VCPUOP.stop_periodic_timer &&
    op !== VCPUOP.set_singleshot_timer &&
    op !== VCPUOP.stop_singleshot_timer &&
    op !== VCPUOP.register_vcpu_info
  )
    return -E.ENOSYS
  const vcpu = registerToNumber(vcpuId)
  if (!target.validVcpu(vcpu)) return -E.ENOENT
  const { memory } = target
  switch (op) {
    case VCPUOP.set_singleshot_timer: {
      if (vcpu !== caller) return -E.EINVAL
      const L = VCPUOP_ARGS.set_singleshot_timer
      const a = copyFromGuest(memory, argGpa, target.longMode ? L.size64 : L.size32)
      if (a === null) return -E.EFAULT
      const flags = a.view.getUint32(L.flags, true)
      return target.setSingleshot(
        vcpu,
        a.view.getBigUint64(L.timeout_abs_ns, true),
        (flags & VCPU_SSHOTTMR_future) !== 0,
      )
    }
    case VCPUOP.stop_singleshot_timer:
      if (vcpu !== caller) return -E.EINVAL
      target.stopSingleshot(vcpu)
      return 0
    case VCPUOP.set_periodic_timer: {
      const L = VCPUOP_ARGS.set_periodic_timer
      const a = copyFromGuest(memory, argGpa, L.size)
      if (a === null) return -E.EFAULT
      return target.setPeriodic(vcpu, a.view.getBigUint64(L.period_ns, true))
    }
    case VCPUOP.stop_periodic_timer:
      target.stopPeriodic(vcpu)
      return 0
    default: {
      const L = VCPUOP_ARGS.register_vcpu_info
      const a = copyFromGuest(memory, argGpa, L.size)
      if (a === null) return -E.EFAULT
      const gfn = a.view.getBigUint64(L.mfn, true)
      const offset = a.view.getUint32(L.offset, true)
      if (offset >= PAGE_SIZE || gfn >= BigInt(Math.floor(Number.MAX_SAFE_INTEGER / PAGE_SIZE)))
        return -E.EINVAL
      return target.registerVcpuInfo(vcpu, Number(gfn) * PAGE_SIZE + offset)
    }
  }
}
