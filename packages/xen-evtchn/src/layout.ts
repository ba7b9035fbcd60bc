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
  /** True for a 64-bit (long mode) guest, false for a 32-bit (compat) one. */
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
  /** Connect a fresh local port to a remote domain's unbound port. */
  bind_interdomain: 0,
  /** Bind a fresh port to a virtual IRQ (VIRQ_*) on a vCPU. */
  bind_virq: 1,
  /** Bind a fresh port to a physical IRQ (not emulated: -ENOSYS). */
  bind_pirq: 2,
  /** Close a port; an interdomain peer goes back to unbound. */
  close: 3,
  /** Notify the remote end of a port (for an IPI port, the port itself). */
  send: 4,
  /** Report a port's EVTCHNSTAT_* state, vCPU and binding. */
  status: 5,
  /** Allocate a fresh port waiting for a remote domain to bind it. */
  alloc_unbound: 6,
  /** Bind a fresh port for inter-vCPU notifications to a vCPU. */
  bind_ipi: 7,
  /** Move a port's notifications to another vCPU. */
  bind_vcpu: 8,
  /** Clear a port's mask bit and upcall if it is pending. */
  unmask: 9,
  /** Close every port of a domain. */
  reset: 10,
  /** FIFO ABI: set up a vCPU's control block (not served: -ENOSYS). */
  init_control: 11,
  /** FIFO ABI: add a page to the event array (not served: -ENOSYS). */
  expand_array: 12,
  /** FIFO ABI: set a port's priority (not served: -ENOSYS). */
  set_priority: 13,
  /** Continue an interrupted EVTCHNOP_reset (not served: -ENOSYS). */
  reset_cont: 14,
} as const

/** EVTCHNSTAT_*: a port's state, as EVTCHNOP_status reports it. */
export const EVTCHNSTAT = {
  /** The port is not in use. */
  closed: 0,
  /** The port waits for a remote domain to bind it (alloc_unbound). */
  unbound: 1,
  /** The port is connected to a remote domain's port. */
  interdomain: 2,
  /** The port is bound to a physical IRQ. */
  pirq: 3,
  /** The port is bound to a virtual IRQ (VIRQ_*). */
  virq: 4,
  /** The port is bound for inter-vCPU notifications. */
  ipi: 5,
} as const

/** A port state value. */
export type EvtchnStat = (typeof EVTCHNSTAT)[keyof typeof EVTCHNSTAT]

/**
 * Argument struct layouts of the EVTCHNOP commands: size and field offsets, identical for 64- and
 * 32-bit guests (every field is u16/u32).
 */
export const EVTCHNOP_ARGS = {
  /** struct evtchn_bind_interdomain. */
  bind_interdomain: {
    /** sizeof(struct evtchn_bind_interdomain). */
    size: 12,
    /** IN domid_t: the domain offering the unbound port. */
    remote_dom: 0,
    /** IN evtchn_port_t: that domain's unbound port. */
    remote_port: 4,
    /** OUT evtchn_port_t: the fresh local port. */
    local_port: 8,
  },
  /** struct evtchn_bind_virq. */
  bind_virq: {
    /** sizeof(struct evtchn_bind_virq). */
    size: 12,
    /** IN u32: the VIRQ_* number. */
    virq: 0,
    /** IN u32: the vCPU to notify. */
    vcpu: 4,
    /** OUT evtchn_port_t: the fresh port. */
    port: 8,
  },
  /** struct evtchn_bind_pirq. */
  bind_pirq: {
    /** sizeof(struct evtchn_bind_pirq). */
    size: 12,
    /** IN u32: the physical IRQ. */
    pirq: 0,
    /** IN u32: BIND_PIRQ__* flags. */
    flags: 4,
    /** OUT evtchn_port_t: the fresh port. */
    port: 8,
  },
  /** struct evtchn_close. */
  close: {
    /** sizeof(struct evtchn_close). */
    size: 4,
    /** IN evtchn_port_t: the port to close. */
    port: 0,
  },
  /** struct evtchn_send. */
  send: {
    /** sizeof(struct evtchn_send). */
    size: 4,
    /** IN evtchn_port_t: the local end of the channel to notify. */
    port: 0,
  },
  /** struct evtchn_status. */
  status: {
    /** sizeof(struct evtchn_status). */
    size: 24,
    /** IN domid_t: the domain owning the port (DOMID_SELF allowed). */
    dom: 0,
    /** IN evtchn_port_t: the port asked about. */
    port: 4,
    /** OUT u32: EVTCHNSTAT_*. */
    status: 8,
    /** OUT u32: the vCPU the port notifies. */
    vcpu: 12,
    /** OUT union u: unbound.dom / interdomain.dom (domid_t), or the pirq / virq (u32). */
    u: 16,
    /** OUT evtchn_port_t: u.interdomain.port, the peer port. */
    interdomain_port: 20,
  },
  /** struct evtchn_alloc_unbound. */
  alloc_unbound: {
    /** sizeof(struct evtchn_alloc_unbound). */
    size: 8,
    /** IN domid_t: the domain the port is allocated in (DOMID_SELF allowed). */
    dom: 0,
    /** IN domid_t: the domain allowed to bind it. */
    remote_dom: 2,
    /** OUT evtchn_port_t: the fresh port. */
    port: 4,
  },
  /** struct evtchn_bind_ipi. */
  bind_ipi: {
    /** sizeof(struct evtchn_bind_ipi). */
    size: 8,
    /** IN u32: the vCPU to notify. */
    vcpu: 0,
    /** OUT evtchn_port_t: the fresh port. */
    port: 4,
  },
  /** struct evtchn_bind_vcpu. */
  bind_vcpu: {
    /** sizeof(struct evtchn_bind_vcpu). */
    size: 8,
    /** IN evtchn_port_t: the port to move. */
    port: 0,
    /** IN u32: the vCPU it notifies from now on. */
    vcpu: 4,
  },
  /** struct evtchn_unmask. */
  unmask: {
    /** sizeof(struct evtchn_unmask). */
    size: 4,
    /** IN evtchn_port_t: the port to unmask. */
    port: 0,
  },
  /** struct evtchn_reset. */
  reset: {
    /** sizeof(struct evtchn_reset). */
    size: 2,
    /** IN domid_t: the domain whose ports are closed (DOMID_SELF allowed). */
    dom: 0,
  },
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
  /** VIRQ_TIMER (per vCPU): timebase update or a requested timeout. */
  TIMER: 0,
  /** VIRQ_DEBUG (per vCPU): request to dump debug info. */
  DEBUG: 1,
  /** VIRQ_CONSOLE (dom0): bytes received on the emergency console. */
  CONSOLE: 2,
  /** VIRQ_DOM_EXC (dom0): an exceptional event for some domain. */
  DOM_EXC: 3,
  /** VIRQ_TBUF (dom0): the trace buffer has records. */
  TBUF: 4,
  /** VIRQ_DEBUGGER (dom0): a domain has paused for debugging. */
  DEBUGGER: 6,
  /** VIRQ_XENOPROF (per vCPU): a new XenOprofile sample. */
  XENOPROF: 7,
  /** VIRQ_CON_RING (dom0): bytes received on the console ring. */
  CON_RING: 8,
  /** VIRQ_PCPU_STATE (dom0): a physical CPU changed state. */
  PCPU_STATE: 9,
  /** VIRQ_MEM_EVENT (dom0): a memory event occurred. */
  MEM_EVENT: 10,
  /** VIRQ_ARGO: an Argo interdomain message arrived. */
  ARGO: 11,
  /** VIRQ_ENOMEM (dom0): Xen is low on heap memory. */
  ENOMEM: 12,
  /** VIRQ_XENPMU (per vCPU): a performance counter interrupt. */
  XENPMU: 13,
  /** VIRQ_ARCH_0: the first of eight architecture-specific VIRQs (16-23). */
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
export const HYPERVISOR = {
  /** __HYPERVISOR_set_timer_op: arm (or, with 0, stop) the calling vCPU's single-shot timer. */
  set_timer_op: 15,
  /** __HYPERVISOR_vcpu_op: per-vCPU operations (VCPUOP_*). */
  vcpu_op: 24,
  /** __HYPERVISOR_event_channel_op: event channel operations (EVTCHNOP_*). */
  event_channel_op: 32,
} as const

/** VCPUOP_* commands of HYPERVISOR_vcpu_op the engine serves (timers and vcpu_info). */
export const VCPUOP = {
  /** Arm the vCPU's periodic timer (struct vcpu_set_periodic_timer). */
  set_periodic_timer: 6,
  /** Stop the vCPU's periodic timer. */
  stop_periodic_timer: 7,
  /** Arm the vCPU's single-shot timer (struct vcpu_set_singleshot_timer). */
  set_singleshot_timer: 8,
  /** Stop the vCPU's single-shot timer. */
  stop_singleshot_timer: 9,
  /** Place the vCPU's vcpu_info in guest memory (struct vcpu_register_vcpu_info). */
  register_vcpu_info: 10,
} as const

/** VCPUOP argument layouts. set_singleshot_timer is 16 bytes for 64-bit guests, 12 for 32-bit. */
export const VCPUOP_ARGS = {
  /** struct vcpu_set_periodic_timer. */
  set_periodic_timer: {
    /** sizeof(struct vcpu_set_periodic_timer). */
    size: 8,
    /** u64: the period in nanoseconds. */
    period_ns: 0,
  },
  /** struct vcpu_set_singleshot_timer. */
  set_singleshot_timer: {
    /** sizeof for a 64-bit guest (the u64 aligns the struct to 8). */
    size64: 16,
    /** sizeof for a 32-bit guest (i386 aligns a u64 to 4). */
    size32: 12,
    /** u64: the deadline in Xen system time, nanoseconds. */
    timeout_abs_ns: 0,
    /** u32: VCPU_SSHOTTMR_* flags. */
    flags: 8,
  },
  /** struct vcpu_register_vcpu_info. */
  register_vcpu_info: {
    /** sizeof(struct vcpu_register_vcpu_info). */
    size: 16,
    /** u64: the frame holding the vcpu_info (a GFN for an HVM guest). */
    mfn: 0,
    /** u32: the byte offset of the vcpu_info within that frame. */
    offset: 8,
    /** u32: reserved, unused. */
    rsvd: 12,
  },
} as const

/** VCPU_SSHOTTMR_future: once "fail with -ETIME if the timeout has passed"; current Xen and KVM ignore it. */
export const VCPU_SSHOTTMR_future = 1
