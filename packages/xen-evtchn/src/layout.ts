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
  /** Connect a fresh local port to a remote domain's unbound port. */ bind_interdomain: 0,
  /** Bind a fresh port to a virtual IRQ (VIRQ_*) on a vCPU. */ bind_virq: 1,
  /** Bind a fresh port to a physical IRQ (not emulated: -ENOSYS). */ bind_pirq: 2,
  /** Close a port; an interdomain peer goes back to unbound. */ close: 3,
  /** Notify the remote end of a port (for an IPI port, the port itself). */ send: 4,
  /** Report a port's EVTCHNSTAT_* state, vCPU and binding. */ status: 5,
  /** Allocate a fresh port waiting for a remote domain to bind it. */ alloc_unbound: 6,
  /** Bind a fresh port for inter-vCPU notifications to a vCPU. */ bind_ipi: 7,
  /** Move a port's notifications to another vCPU. */ bind_vcpu: 8,
  /** Clear a port's mask bit and upcall if it is pending. */ unmask: 9,
  /** Close every port of a domain. */ reset: 10,
  /** FIFO ABI: set up a vCPU's control block (not served: -ENOSYS). */ init_control: 11,
  /** FIFO ABI: add a page to the event array (not served: -ENOSYS). */ expand_array: 12,
  /** FIFO ABI: set a port's priority (not served: -ENOSYS). */ set_priority: 13,
  /** Continue an interrupted EVTCHNOP_reset (not served: -ENOSYS). */ reset_cont: 14,
} as const

/** EVTCHNSTAT_*: a port's state, as EVTCHNOP_status reports it. */
export const EVTCHNSTAT = {
  /** The port is not in use. */ closed: 0,
  /** The port waits for a remote domain to bind it (alloc_unbound). */ unbound: 1,
  /** The port is connected to a remote domain's port. */ interdomain: 2,
  /** The port is bound to a physical IRQ. */ pirq: 3,
  /** The port is bound to a virtual IRQ (VIRQ_*). */ virq: 4,
  /** The port is bound for inter-vCPU notifications. */ ipi: 5,
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
    /** sizeof(struct evtchn_bind_interdomain). */ size: 12,
    /** IN domid_t: the domain offering the unbound port. */ remote_dom: 0,
    /** IN evtchn_port_t: that domain's unbound port. */ remote_port: 4,
    /** OUT evtchn_port_t: the fresh local port. */ local_port: 8,
  },
  /** struct evtchn_bind_virq. */
  bind_virq: {
    /** sizeof(struct evtchn_bind_virq). */ size: 12,
    /** IN u32: the VIRQ_* number. */ virq: 0,
    /** IN u32: the vCPU to notify. */ vcpu: 4,
    /** OUT evtchn_port_t: the fresh port. */ port: 8,
  },
  /** struct evtchn_bind_pirq. */
  bind_pirq: {
    /** sizeof(struct evtchn_bind_pirq). */ size: 12,
    /** IN u32: the physical IRQ. */ pirq: 0,
    /** IN u32: BIND_PIRQ__* flags. */ flags: 4,
    /** OUT evtchn_port_t: the fresh port. */ port: 8,
  },
  /** struct evtchn_close. */
  close: {
    /** sizeof(struct evtchn_close). */ size: 4,
    /** IN evtchn_port_t: the port to close. */ port: 0,
  },
  /** struct evtchn_send. */
  send: {
    /** sizeof(struct evtchn_send). */ size: 4,
    /** IN evtchn_port_t: the local end of the channel to notify. */ port: 0,
  },
  /** struct evtchn_status. */
  status: {
    /** sizeof(struct evtchn_status). */ size: 24,
    /** IN domid_t: the domain owning the port (DOMID_SELF allowed). */ dom: 0,
    /** IN evtchn_port_t: the port asked about. */ port: 4,
    /** OUT u32: EVTCHNSTAT_*. */ status: 8,
    /** OUT u32: the vCPU the port notifies. */ vcpu: 12,
    /** OUT union u: unbound.dom / interdomain.dom (domid_t), or the pirq / virq (u32). */ u: 16,
    /** OUT evtchn_port_t: u.interdomain.port, the peer port. */ interdomain_port: 20,
  },
  /** struct evtchn_alloc_unbound. */
  alloc_unbound: {
    /** sizeof(struct evtchn_alloc_unbound). */ size: 8,
    /** IN domid_t: the domain the port is allocated in (DOMID_SELF allowed). */ dom: 0,
    /** IN domid_t: the domain allowed to bind it. */ remote_dom: 2,
    /** OUT evtchn_port_t: the fresh port. */ port: 4,
  },
  /** struct evtchn_bind_ipi. */
  bind_ipi: {
    /** sizeof(struct evtchn_bind_ipi). */ size: 8,
    /** IN u32: the vCPU to notify. */ vcpu: 0,
    /** OUT evtchn_port_t: the fresh port. */ port: 4,
  },
  /** struct evtchn_bind_vcpu. */
  bind_vcpu: {
    /** sizeof(struct evtchn_bind_vcpu). */ size: 8,
    /** IN evtchn_port_t: the port to move. */ port: 0,
    /** IN u32: the vCPU it notifies from now on. */ vcpu: 4,
  },
  /** struct evtchn_unmask. */
  unmask: {
    /** sizeof(struct evtchn_unmask). */ size: 4,
    /** IN evtchn_port_t: the port to unmask. */ port: 0,
  },
  /** struct evtchn_reset. */
  reset: {
    /** sizeof(struct evtchn_reset). */ size: 2,
    /** IN domid_t: the domain whose ports are closed (DOMID_SELF allowed). */ dom: 0,
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
  /** VIRQ_TIMER (per vCPU): timebase update or a requested timeout. */ TIMER: 0,
  /** VIRQ_DEBUG (per vCPU): request to dump debug info. */ DEBUG: 1,
  /** VIRQ_CONSOLE (dom0): bytes received on the emergency console. */ CONSOLE: 2,
  /** VIRQ_DOM_EXC (dom0): an exceptional event for some domain. */ DOM_EXC: 3,
  /** VIRQ_TBUF (dom0): the trace buffer has records. */ TBUF: 4,
  /** VIRQ_DEBUGGER (dom0): a domain has paused for debugging. */ DEBUGGER: 6,
  /** VIRQ_XENOPROF (per vCPU): a new XenOprofile sample. */ XENOPROF: 7,
  /** VIRQ_CON_RING (dom0): bytes received on the console ring. */ CON_RING: 8,
  /** VIRQ_PCPU_STATE (dom0): a physical CPU changed state. */ PCPU_STATE: 9,
  /** VIRQ_MEM_EVENT (dom0): a memory event occurred. */ MEM_EVENT: 10,
  /** VIRQ_ARGO: an Argo interdomain message arrived. */ ARGO: 11,
  /** VIRQ_ENOMEM (dom0): Xen is low on heap memory. */ ENOMEM: 12,
  /** VIRQ_XENPMU (per vCPU): a performance counter interrupt. */ XENPMU: 13,
  /** VIRQ_ARCH_0: the first of eight architecture-specific VIRQs (16-23). */ ARCH_0: 16,
} as const

/** NR_VIRQS: VIRQ numbers are below it. */
export const NR_VIRQS = 24

/** Per-vCPU VIRQs (TIMER, DEBUG, XENOPROF, XENPMU); the rest are global, bound on vCPU 0. */
export function virqIsPerVcpu(virq: number): boolean {
  return (
    virq === VIRQ.TIMER || virq === VIRQ.DEBUG || virq === VIRQ.XENOPROF || virq === VIRQ.XENPMU
  )
}

/** `__HYPERVISOR_*` hypercall numbers (xen.h) of the hypercalls an HVM guest of tsvmm makes. */
export const HYPERVISOR = {
  /** Memory reservations and the physmap (XENMEM_*). */ memory_op: 12,
  /** Arm (or, with 0, stop) the calling vCPU's single-shot timer. */ set_timer_op: 15,
  /** Version, build strings and features (XENVER_*). */ xen_version: 17,
  /** Grant tables (GNTTABOP_*). */ grant_table_op: 20,
  /** Per-vCPU operations (VCPUOP_*). */ vcpu_op: 24,
  /** Yield, block, poll, shut down (SCHEDOP_*). */ sched_op: 29,
  /** Event channel operations (EVTCHNOP_*). */ event_channel_op: 32,
  /** HVM parameters and vectors (HVMOP_*). */ hvm_op: 34,
} as const

/** `VCPUOP_*` commands of HYPERVISOR_vcpu_op (vcpu.h): the engine serves the timers and vcpu_info. */
export const VCPUOP = {
  /** Whether the vCPU is up (the VMM answers it). */ is_up: 3,
  /** Place the vCPU's struct vcpu_runstate_info in guest memory (the VMM keeps or hands it to KVM). */
  register_runstate_memory_area: 5,
  /** Arm the vCPU's periodic timer (struct vcpu_set_periodic_timer). */ set_periodic_timer: 6,
  /** Stop the vCPU's periodic timer. */ stop_periodic_timer: 7,
  /** Arm the vCPU's single-shot timer (struct vcpu_set_singleshot_timer). */
  set_singleshot_timer: 8,
  /** Stop the vCPU's single-shot timer. */ stop_singleshot_timer: 9,
  /** Place the vCPU's vcpu_info in guest memory (struct vcpu_register_vcpu_info). */
  register_vcpu_info: 10,
  /** Place a second struct vcpu_time_info in guest memory (the VMM keeps or hands it to KVM). */
  register_vcpu_time_memory_area: 13,
} as const

/** VCPUOP argument layouts. set_singleshot_timer is 16 bytes for 64-bit guests, 12 for 32-bit. */
export const VCPUOP_ARGS = {
  /** struct vcpu_set_periodic_timer. */
  set_periodic_timer: {
    /** sizeof(struct vcpu_set_periodic_timer). */ size: 8,
    /** u64: the period in nanoseconds. */ period_ns: 0,
  },
  /** struct vcpu_set_singleshot_timer. */
  set_singleshot_timer: {
    /** sizeof for a 64-bit guest (the u64 aligns the struct to 8). */ size64: 16,
    /** sizeof for a 32-bit guest (i386 aligns a u64 to 4). */ size32: 12,
    /** u64: the deadline in Xen system time, nanoseconds. */ timeout_abs_ns: 0,
    /** u32: VCPU_SSHOTTMR_* flags. */ flags: 8,
  },
  /** struct vcpu_register_vcpu_info. */
  register_vcpu_info: {
    /** sizeof(struct vcpu_register_vcpu_info). */ size: 16,
    /** u64: the frame holding the vcpu_info (a GFN for an HVM guest). */ mfn: 0,
    /** u32: the byte offset of the vcpu_info within that frame. */ offset: 8,
    /** u32: reserved, unused. */ rsvd: 12,
  },
} as const

/** VCPU_SSHOTTMR_future: once "fail with -ETIME if the timeout has passed"; current Xen and KVM ignore it. */
export const VCPU_SSHOTTMR_future = 1

/** `SCHEDOP_*` commands of HYPERVISOR_sched_op (sched.h). */
export const SCHEDOP = {
  /** Give the CPU up for a moment. */ yield: 0,
  /** Sleep until an event is pending. */ block: 1,
  /** Stop the domain (struct sched_shutdown: a SHUTDOWN_* reason). */ shutdown: 2,
  /** Sleep until one of some ports is pending or a timeout (struct sched_poll). */ poll: 3,
  /** Stop a domain named by id (struct sched_remote_shutdown). */ remote_shutdown: 4,
  /** Record the reason a later shutdown will report. */ shutdown_code: 5,
} as const

/** `SHUTDOWN_*` reasons of SCHEDOP_shutdown (sched.h). */
export const SHUTDOWN = {
  /** The domain is done. */ poweroff: 0,
  /** Restart it. */ reboot: 1,
  /** Save it, to resume later. */ suspend: 2,
  /** It crashed. */ crash: 3,
  /** Its watchdog fired. */ watchdog: 4,
  /** Reset its state and restart it in place. */ soft_reset: 5,
} as const

/** `HVMOP_*` commands of HYPERVISOR_hvm_op (hvm/hvm_op.h). */
export const HVMOP = {
  /** Set an HVM_PARAM (struct xen_hvm_param). */ set_param: 0,
  /** Read an HVM_PARAM (struct xen_hvm_param). */ get_param: 1,
  /** The guest tears down a page table (a hint). */ pagetable_dying: 9,
  /** A vCPU's own upcall vector (struct xen_hvm_evtchn_upcall_vector). */
  set_evtchn_upcall_vector: 23,
} as const

/** `HVM_PARAM_*` (hvm/params.h). */
export const HVM_PARAM = {
  /** How the upcall is delivered; the type is in bits 63:56. */ CALLBACK_IRQ: 0,
  /** CALLBACK_IRQ type: a vector, in bits 7:0. */ CALLBACK_TYPE_VECTOR: 2,
} as const

/** `XENVER_*` commands of HYPERVISOR_xen_version (version.h). */
export const XENVER = {
  /** major << 16 | minor, in RAX. */ version: 0,
  /** The version suffix (char[16]). */ extraversion: 1,
  /** struct xen_compile_info. */ compile_info: 2,
  /** The supported guest kinds (char[1024]). */ capabilities: 3,
  /** The source changeset (char[64]). */ changeset: 4,
  /** struct xen_platform_parameters. */ platform_parameters: 5,
  /** struct xen_feature_info: one 32-bit submap of XENFEAT bits. */ get_features: 6,
  /** The page size, in RAX. */ pagesize: 7,
  /** The domain handle (16 bytes). */ guest_handle: 8,
  /** Xen's command line (char[1024]). */ commandline: 9,
} as const

/** `XENFEAT_*` bits of XENVER_get_features submap 0 (features.h) offered to HVM guests. */
export const XENFEAT = {
  /** The guest may write its page tables directly. */ writable_page_tables: 0,
  /** The guest may write its descriptor tables directly. */ writable_descriptor_tables: 1,
  /** Guest frames are guest-physical (HVM). */ auto_translated_physmap: 2,
  /** The guest kernel runs in ring 0. */ supervisor_mode_kernel: 3,
  /** HVM_PARAM_CALLBACK_IRQ takes the vector type. */ hvm_callback_vector: 8,
  /** The pvclock is safe to use on HVM. */ hvm_safe_pvclock: 9,
} as const

/** `XENMEM_*` commands of HYPERVISOR_memory_op (memory.h). */
export const XENMEM = {
  /** Map a Xen page into the physmap (struct xen_add_to_physmap). */ add_to_physmap: 7,
} as const

/** `XENMAPSPACE_*`: what XENMEM_add_to_physmap maps (memory.h). */
export const XENMAPSPACE = {
  /** The shared_info page. */ shared_info: 0,
  /** A grant table frame. */ grant_table: 1,
  /** A guest frame, moved. */ gmfn: 2,
  /** A range of guest frames. */ gmfn_range: 3,
  /** Another domain's frame. */ gmfn_foreign: 4,
  /** Device MMIO (Arm). */ dev_mmio: 5,
} as const
