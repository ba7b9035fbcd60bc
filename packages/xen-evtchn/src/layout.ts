// Xen ABI geometry and constants (xen/include/public/{xen.h,event_channel.h,vcpu.h}), for 64-bit
// (long mode) and 32-bit (compat) guests. Offsets checked against gcc -m64/-m32 in abi-facts.md
// and against the kernel's layout checks in arch/x86/kvm/xen.c.

/** Size of a guest page; shared_info occupies one. */
export const PAGE_SIZE = 4096

/** sizeof(struct vcpu_info), the same in both ABIs. */
export const VCPU_INFO_SIZE = 64
/** vcpu_info.evtchn_upcall_pending (u8). */
export const VCPU_INFO_UPCALL_PENDING = 0
/** vcpu_info.evtchn_upcall_mask (u8; unused by HVM guests, never touched by the engine). */
export const VCPU_INFO_UPCALL_MASK = 1
/** Xen's alignment check for a registered vcpu_info (VCPUOP_register_vcpu_info). */
export const VCPU_INFO_ALIGN = 8
/** shared_info.vcpu_info[] has this many legacy slots (vCPU N's default is at shinfo + 64 * N). */
export const XEN_LEGACY_MAX_VCPUS = 32

/** shared_info.evtchn_pending: the same offset in both ABIs. */
export const SHINFO_EVTCHN_PENDING = 0x800

/** The 2-level event channel geometry of one guest width. */
export interface TwoLevelGeometry {
  readonly longMode: boolean
  /** EVTCHN_2L_NR_CHANNELS: valid ports are 1 .. portLimit - 1. */
  readonly portLimit: number
  /** shared_info.evtchn_pending offset. */
  readonly pendingOffset: number
  /** shared_info.evtchn_mask offset. */
  readonly maskOffset: number
  /** vcpu_info.evtchn_pending_sel offset. */
  readonly selectorOffset: number
  /** Bits per evtchn word (xen_ulong_t): the selector bit of port p is p / wordBits. */
  readonly wordBits: 64 | 32
  /** sizeof(struct shared_info). */
  readonly sharedInfoSize: number
}

/** x86_64 guests: xen_ulong_t is 64 bits. */
export const GEOMETRY_64: TwoLevelGeometry = Object.freeze({
  longMode: true,
  portLimit: 4096,
  pendingOffset: SHINFO_EVTCHN_PENDING,
  maskOffset: 0xa00,
  selectorOffset: 8,
  wordBits: 64,
  sharedInfoSize: 0xc40,
})

/** x86_32 (compat) guests: 32-bit words, COMPAT_EVTCHN_2L_NR_CHANNELS = 32 * 32. */
export const GEOMETRY_32: TwoLevelGeometry = Object.freeze({
  longMode: false,
  portLimit: 1024,
  pendingOffset: SHINFO_EVTCHN_PENDING,
  maskOffset: 0x880,
  selectorOffset: 4,
  wordBits: 32,
  sharedInfoSize: 0x928,
})

/** The geometry for a guest width. */
export function geometry(longMode: boolean): TwoLevelGeometry {
  return longMode ? GEOMETRY_64 : GEOMETRY_32
}

/** The largest port table any mode uses (64-bit). */
export const MAX_PORTS = GEOMETRY_64.portLimit

/** EVTCHNOP_* commands of HYPERVISOR_event_channel_op. */
export const EVTCHNOP = {
  bind_interdomain: 0,
  bind_virq: 1,
  bind_pirq: 2,
  close: 3,
  send: 4,
  status: 5,
  alloc_unbound: 6,
  bind_ipi: 7,
  bind_vcpu: 8,
  unmask: 9,
  reset: 10,
  init_control: 11,
  expand_array: 12,
  set_priority: 13,
  reset_cont: 14,
} as const

/** EVTCHNSTAT_*: a port's state, as EVTCHNOP_status reports it. */
export const EVTCHNSTAT = {
  closed: 0,
  unbound: 1,
  interdomain: 2,
  pirq: 3,
  virq: 4,
  ipi: 5,
} as const

/** A port state value. */
export type EvtchnStat = (typeof EVTCHNSTAT)[keyof typeof EVTCHNSTAT]

/**
 * Argument struct layouts of the EVTCHNOP commands: size and field offsets, identical for 64- and
 * 32-bit guests (every field is u16/u32).
 */
export const EVTCHNOP_ARGS = {
  bind_interdomain: { size: 12, remote_dom: 0, remote_port: 4, local_port: 8 },
  bind_virq: { size: 12, virq: 0, vcpu: 4, port: 8 },
  bind_pirq: { size: 12, pirq: 0, flags: 4, port: 8 },
  close: { size: 4, port: 0 },
  send: { size: 4, port: 0 },
  status: { size: 24, dom: 0, port: 4, status: 8, vcpu: 12, u: 16, interdomain_port: 20 },
  alloc_unbound: { size: 8, dom: 0, remote_dom: 2, port: 4 },
  bind_ipi: { size: 8, vcpu: 0, port: 4 },
  bind_vcpu: { size: 8, port: 0, vcpu: 4 },
  unmask: { size: 4, port: 0 },
  reset: { size: 2, dom: 0 },
} as const

/** DOMID_SELF: "the calling domain" in hypercall arguments. */
export const DOMID_SELF = 0x7ff0
/** First reserved domain id; real domains are below it. */
export const DOMID_FIRST_RESERVED = 0x7ff0
/**
 * The domain the VMM's device backends live in (dom0, as QEMU's DOMID_QEMU): guest ports meant
 * for a backend are allocated unbound for this domain.
 */
export const DOMID_BACKEND = 0

/** VIRQ numbers (xen.h). */
export const VIRQ = {
  TIMER: 0,
  DEBUG: 1,
  CONSOLE: 2,
  DOM_EXC: 3,
  TBUF: 4,
  DEBUGGER: 6,
  XENOPROF: 7,
  CON_RING: 8,
  PCPU_STATE: 9,
  MEM_EVENT: 10,
  ARGO: 11,
  ENOMEM: 12,
  XENPMU: 13,
  ARCH_0: 16,
} as const

/** NR_VIRQS: VIRQ numbers are below it. */
export const NR_VIRQS = 24

/** Per-vCPU VIRQs (TIMER, DEBUG, XENOPROF, XENPMU); the rest are global, bound on vCPU 0. */
export function virqIsPerVcpu(virq: number): boolean {
  return (
    virq === VIRQ.TIMER || virq === VIRQ.DEBUG || virq === VIRQ.XENOPROF || virq === VIRQ.XENPMU
  )
}

/** Hypercall numbers the engine serves. */
export const HYPERVISOR = { set_timer_op: 15, vcpu_op: 24, event_channel_op: 32 } as const

/** VCPUOP_* commands of HYPERVISOR_vcpu_op the engine serves (timers and vcpu_info). */
export const VCPUOP = {
  set_periodic_timer: 6,
  stop_periodic_timer: 7,
  set_singleshot_timer: 8,
  stop_singleshot_timer: 9,
  register_vcpu_info: 10,
} as const

/** VCPUOP argument layouts. set_singleshot_timer is 16 bytes for 64-bit guests, 12 for 32-bit. */
export const VCPUOP_ARGS = {
  set_periodic_timer: { size: 8, period_ns: 0 },
  set_singleshot_timer: { size64: 16, size32: 12, timeout_abs_ns: 0, flags: 8 },
  register_vcpu_info: { size: 16, mfn: 0, offset: 8, rsvd: 12 },
} as const

/** VCPU_SSHOTTMR_future: fail with -ETIME if the timeout has already passed. */
export const VCPU_SSHOTTMR_future = 1
