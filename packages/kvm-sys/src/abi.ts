/**
 * The KVM userspace ABI (x86_64) as plain TypeScript: constants, struct sizes and offsets.
 * Pure: loads no native code.
 *
 * Naming: a number is the C macro of the same name. A lower-case object is a struct layout
 * named after the C struct: `size` is sizeof, every other key an offset, nested objects follow
 * the C member path (kvm_run.io.port is offsetof(struct kvm_run, io.port)). IOCTLS holds ioctl
 * numbers. KVM_IRQ_ROUTING, KVM_IRQ_ROUTING_ENTRY and KVM_STRUCT_SIZES predate that rule.
 *
 * @module @tsvmm/kvm-sys/abi
 */
// test/abi.test.ts compiles a C program against the installed <linux/kvm.h> and checks every
// exported value here against it.

/** KVM_GET_API_VERSION's one stable answer. */
export const KVM_API_VERSION = 12

// --- GSI routing (struct kvm_irq_routing / kvm_irq_routing_entry)
/** kvm_irq_routing_entry.type: a irqchip route. */
export const KVM_IRQ_ROUTING_IRQCHIP = 1
/** kvm_irq_routing_entry.type: a msi route. */
export const KVM_IRQ_ROUTING_MSI = 2
/** kvm_irq_routing_entry.type: a s390 adapter route. */
export const KVM_IRQ_ROUTING_S390_ADAPTER = 3
/** kvm_irq_routing_entry.type: a hv sint route. */
export const KVM_IRQ_ROUTING_HV_SINT = 4
/** kvm_irq_routing_entry.type: a xen evtchn route. */
export const KVM_IRQ_ROUTING_XEN_EVTCHN = 5
/** The only priority KVM accepts on a XEN_EVTCHN route: (__u32)-1. */
export const KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL = 0xffffffff
/** kvm_irq_routing_msi / kvm_msi flag: devid is valid. */
export const KVM_MSI_VALID_DEVID = 1
/** kvm_irq_routing_irqchip.irqchip: the pic master. */
export const KVM_IRQCHIP_PIC_MASTER = 0
/** kvm_irq_routing_irqchip.irqchip: the pic slave. */
export const KVM_IRQCHIP_PIC_SLAVE = 1
/** kvm_irq_routing_irqchip.irqchip: the ioapic. */
export const KVM_IRQCHIP_IOAPIC = 2
/** KVM_MAX_IRQ_ROUTES of current kernels (older x86 kernels: 1024). */
export const KVM_MAX_IRQ_ROUTES = 4096

/** Sizes and field offsets of the routing structs. */
export const KVM_IRQ_ROUTING = {
  /** sizeof(struct kvm_irq_routing): the header before the entries. */
  size: 8,
  /** __u32 nr: number of entries that follow. */
  nr: 0,
  /** __u32 flags: must be 0. */
  flags: 4,
  /** struct kvm_irq_routing_entry entries[nr]: the routes. */
  entries: 8,
} as const
/** Layout of struct kvm_irq_routing_entry; its union members are camelCase here. */
export const KVM_IRQ_ROUTING_ENTRY = {
  /** sizeof(struct kvm_irq_routing_entry). */
  size: 48,
  /** __u32 gsi: the global system interrupt this route feeds. */
  gsi: 0,
  /** __u32 type: KVM_IRQ_ROUTING_IRQCHIP, _MSI, _S390_ADAPTER, _HV_SINT or _XEN_EVTCHN. */
  type: 4,
  /** __u32 flags: KVM_MSI_VALID_DEVID on an MSI route, else 0. */
  flags: 8,
  /** __u32 pad. */
  pad: 12,
  /** union u: the type-specific route (32 bytes). */
  u: 16,
  /** struct kvm_irq_routing_irqchip { __u32 irqchip; __u32 pin; } */
  irqchip: {
    /** __u32 irqchip: KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE or _IOAPIC. */
    irqchip: 16,
    /** __u32 pin: input pin on that chip. */
    pin: 20,
  },
  /** struct kvm_irq_routing_msi { address_lo, address_hi, data, devid/pad } */
  msi: {
    /** __u32 address_lo: low half of the MSI address. */
    addressLo: 16,
    /** __u32 address_hi: high half of the MSI address. */
    addressHi: 20,
    /** __u32 data: the MSI data word. */
    data: 24,
    /** __u32 devid: requester id, valid with KVM_MSI_VALID_DEVID. */
    devid: 28,
  },
  /** struct kvm_irq_routing_s390_adapter */
  s390Adapter: {
    /** __u64 ind_addr: address of the adapter's indicator bits. */
    indAddr: 16,
    /** __u64 summary_addr: address of the summary indicator. */
    summaryAddr: 24,
    /** __u64 ind_offset: bit offset of this route's indicator. */
    indOffset: 32,
    /** __u32 summary_offset: bit offset of the summary indicator. */
    summaryOffset: 40,
    /** __u32 adapter_id: the I/O adapter. */
    adapterId: 44,
  },
  /** struct kvm_irq_routing_hv_sint { __u32 vcpu; __u32 sint; } */
  hvSint: {
    /** __u32 vcpu: target vCPU of the Hyper-V synthetic interrupt. */
    vcpu: 16,
    /** __u32 sint: synthetic interrupt source number (0-15). */
    sint: 20,
  },
  /** struct kvm_irq_routing_xen_evtchn { __u32 port; __u32 vcpu; __u32 priority; } */
  xenEvtchn: {
    /** __u32 port: the Xen event channel port raised in shared_info. */
    port: 16,
    /** __u32 vcpu: the target vCPU by KVM vCPU id (APIC ID), not Xen vcpu_id. */
    vcpu: 20,
    /** __u32 priority: KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL. */
    priority: 24,
  },
} as const

// --- Xen HVM (KVM_CAP_XEN_HVM flags, KVM_XEN_HVM_CONFIG flags)
/** KVM_CAP_XEN_HVM feature bit and KVM_XEN_HVM_CONFIG flag: hypercall msr. */
export const KVM_XEN_HVM_CONFIG_HYPERCALL_MSR = 1 << 0
/** KVM_CAP_XEN_HVM feature bit and KVM_XEN_HVM_CONFIG flag: intercept hcall. */
export const KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL = 1 << 1
/** KVM_CAP_XEN_HVM feature bit and KVM_XEN_HVM_CONFIG flag: shared info. */
export const KVM_XEN_HVM_CONFIG_SHARED_INFO = 1 << 2
/** KVM_CAP_XEN_HVM feature bit and KVM_XEN_HVM_CONFIG flag: runstate. */
export const KVM_XEN_HVM_CONFIG_RUNSTATE = 1 << 3
/** KVM_CAP_XEN_HVM feature bit and KVM_XEN_HVM_CONFIG flag: evtchn 2level. */
export const KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL = 1 << 4
/** KVM_CAP_XEN_HVM feature bit and KVM_XEN_HVM_CONFIG flag: evtchn send. */
export const KVM_XEN_HVM_CONFIG_EVTCHN_SEND = 1 << 5
/** KVM_CAP_XEN_HVM feature bit and KVM_XEN_HVM_CONFIG flag: runstate update flag. */
export const KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG = 1 << 6
/** KVM_CAP_XEN_HVM feature bit and KVM_XEN_HVM_CONFIG flag: pvclock tsc unstable. */
export const KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE = 1 << 7
/** KVM_CAP_XEN_HVM feature bit and KVM_XEN_HVM_CONFIG flag: shared info hva. */
export const KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA = 1 << 8

/** Names of the KVM_CAP_XEN_HVM feature bits, for reports. */
export const KVM_XEN_HVM_CONFIG_FLAGS = {
  /** KVM_XEN_HVM_CONFIG_HYPERCALL_MSR: the MSR write that fills the hypercall page. */
  HYPERCALL_MSR: KVM_XEN_HVM_CONFIG_HYPERCALL_MSR,
  /** KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL: hypercalls exit to userspace as KVM_EXIT_XEN. */
  INTERCEPT_HCALL: KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL,
  /** KVM_XEN_HVM_CONFIG_SHARED_INFO: shared_info, vcpu_info and the Xen attrs. */
  SHARED_INFO: KVM_XEN_HVM_CONFIG_SHARED_INFO,
  /** KVM_XEN_HVM_CONFIG_RUNSTATE: the kernel keeps vcpu_runstate_info. */
  RUNSTATE: KVM_XEN_HVM_CONFIG_RUNSTATE,
  /** KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL: XEN_EVTCHN routes and 2-level delivery in kernel. */
  EVTCHN_2LEVEL: KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL,
  /** KVM_XEN_HVM_CONFIG_EVTCHN_SEND: EVTCHNOP_send in kernel, KVM_XEN_HVM_EVTCHN_SEND. */
  EVTCHN_SEND: KVM_XEN_HVM_CONFIG_EVTCHN_SEND,
  /** KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG: XEN_RUNSTATE_UPDATE in state_entry_time. */
  RUNSTATE_UPDATE_FLAG: KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG,
  /** KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE: clear PVCLOCK_TSC_STABLE_BIT for the guest. */
  PVCLOCK_TSC_UNSTABLE: KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE,
  /** KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA: shared_info / vcpu_info by host address. */
  SHARED_INFO_HVA: KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA,
} as const

// --- Xen VM attributes (KVM_XEN_HVM_SET_ATTR / GET_ATTR)
/** kvm_xen_hvm_attr.type: long mode. */
export const KVM_XEN_ATTR_TYPE_LONG_MODE = 0
/** kvm_xen_hvm_attr.type: shared info. */
export const KVM_XEN_ATTR_TYPE_SHARED_INFO = 1
/** kvm_xen_hvm_attr.type: upcall vector. */
export const KVM_XEN_ATTR_TYPE_UPCALL_VECTOR = 2
/** kvm_xen_hvm_attr.type: evtchn. */
export const KVM_XEN_ATTR_TYPE_EVTCHN = 3
/** kvm_xen_hvm_attr.type: xen version. */
export const KVM_XEN_ATTR_TYPE_XEN_VERSION = 4
/** kvm_xen_hvm_attr.type: runstate update flag. */
export const KVM_XEN_ATTR_TYPE_RUNSTATE_UPDATE_FLAG = 5
/** kvm_xen_hvm_attr.type: shared info hva. */
export const KVM_XEN_ATTR_TYPE_SHARED_INFO_HVA = 6
// Xen vCPU attributes (KVM_XEN_VCPU_SET_ATTR / GET_ATTR)
/** kvm_xen_vcpu_attr.type: vcpu info. */
export const KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO = 0
/** kvm_xen_vcpu_attr.type: vcpu time info. */
export const KVM_XEN_VCPU_ATTR_TYPE_VCPU_TIME_INFO = 1
/** kvm_xen_vcpu_attr.type: runstate addr. */
export const KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADDR = 2
/** kvm_xen_vcpu_attr.type: runstate current. */
export const KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_CURRENT = 3
/** kvm_xen_vcpu_attr.type: runstate data. */
export const KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_DATA = 4
/** kvm_xen_vcpu_attr.type: runstate adjust. */
export const KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADJUST = 5
/** kvm_xen_vcpu_attr.type: vcpu id. */
export const KVM_XEN_VCPU_ATTR_TYPE_VCPU_ID = 6
/** kvm_xen_vcpu_attr.type: timer. */
export const KVM_XEN_VCPU_ATTR_TYPE_TIMER = 7
/** kvm_xen_vcpu_attr.type: upcall vector. */
export const KVM_XEN_VCPU_ATTR_TYPE_UPCALL_VECTOR = 8
/** kvm_xen_vcpu_attr.type: vcpu info hva. */
export const KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO_HVA = 9
/** KVM_XEN_ATTR_TYPE_EVTCHN flags: mutually exclusive, not a bitmask. */
export const KVM_XEN_EVTCHN_DEASSIGN = 1
/** KVM_XEN_ATTR_TYPE_EVTCHN flags: update. */
export const KVM_XEN_EVTCHN_UPDATE = 2
/** KVM_XEN_ATTR_TYPE_EVTCHN flags: reset. */
export const KVM_XEN_EVTCHN_RESET = 4
/** KVM_XEN_INVALID_GFN and KVM_XEN_INVALID_GPA: (u64)-1. */
export const KVM_XEN_INVALID_GFN = 0xffff_ffff_ffff_ffffn
/** A kvm_xen_vcpu_attr GPA that turns the attribute off. */
export const KVM_XEN_INVALID_GPA = 0xffff_ffff_ffff_ffffn
/** The range of MSR numbers KVM_XEN_HVM_CONFIG accepts for the hypercall-page MSR. */
export const KVM_XEN_MSR_MIN_INDEX = 0x40000000
/** The highest MSR number KVM_XEN_HVM_CONFIG accepts. */
export const KVM_XEN_MSR_MAX_INDEX = 0x4fffffff

/** Sizes of the structs the ioctls above take. */
export const KVM_STRUCT_SIZES = {
  /** sizeof(struct kvm_irqfd), KVM_IRQFD's argument. */
  kvm_irqfd: 32,
  /** sizeof(struct kvm_ioeventfd), KVM_IOEVENTFD's argument. */
  kvm_ioeventfd: 64,
  /** sizeof(struct kvm_msi), KVM_SIGNAL_MSI's argument. */
  kvm_msi: 32,
  /** sizeof(struct kvm_xen_hvm_config), KVM_XEN_HVM_CONFIG's argument. */
  kvm_xen_hvm_config: 56,
  /** sizeof(struct kvm_xen_hvm_attr), KVM_XEN_HVM_{GET,SET}_ATTR's argument. */
  kvm_xen_hvm_attr: 72,
  /** sizeof(struct kvm_xen_vcpu_attr), KVM_XEN_VCPU_{GET,SET}_ATTR's argument. */
  kvm_xen_vcpu_attr: 72,
  /** sizeof(struct kvm_irq_routing_xen_evtchn), one XEN_EVTCHN route's union member. */
  kvm_irq_routing_xen_evtchn: 12,
} as const

// --- Capabilities (KVM_CHECK_EXTENSION)
const CAP_NUMBERS = {
  IRQCHIP: 0,
  HLT: 1,
  USER_MEMORY: 3,
  SET_TSS_ADDR: 4,
  EXT_CPUID: 7,
  NR_VCPUS: 9,
  NR_MEMSLOTS: 10,
  PIT: 11,
  MP_STATE: 14,
  SYNC_MMU: 16,
  USER_NMI: 22,
  IRQ_ROUTING: 25,
  IRQ_INJECT_STATUS: 26,
  IRQFD: 32,
  PIT2: 33,
  IOEVENTFD: 36,
  SET_IDENTITY_MAP_ADDR: 37,
  XEN_HVM: 38,
  ADJUST_CLOCK: 39,
  VCPU_EVENTS: 41,
  HYPERV: 44,
  XSAVE: 55,
  TSC_CONTROL: 60,
  GET_TSC_KHZ: 61,
  MAX_VCPUS: 66,
  TSC_DEADLINE_TIMER: 72,
  SIGNAL_MSI: 77,
  READONLY_MEM: 81,
  IRQFD_RESAMPLE: 82,
  CHECK_EXTENSION_VM: 105,
  SPLIT_IRQCHIP: 121,
  IOEVENTFD_ANY_LENGTH: 122,
  HYPERV_SYNIC: 123,
  MAX_VCPU_ID: 128,
  X2APIC_API: 129,
  MSI_DEVID: 131,
  IMMEDIATE_EXIT: 136,
  VM_TSC_CONTROL: 214,
} as const

/**
 * The KVM_CHECK_EXTENSION capabilities kvm-sys knows, by name: `Cap.XEN_HVM` is the C macro
 * `KVM_CAP_XEN_HVM` (38), and so for every key. Typed like kvm-ioctls' `Cap`: a name that is not
 * here does not compile, instead of becoming a number that KVM answers 0 to.
 *
 * @see https://docs.kernel.org/virt/kvm/api.html#kvm-check-extension for what each one means.
 */
export const Cap: CapTable = CAP_NUMBERS

/** A capability name: a key of {@link Cap} (the C macro without `KVM_CAP_`). */
export type CapName = keyof typeof CAP_NUMBERS

/**
 * The type of {@link Cap}: each capability name to its number. A mapped type, so the table is
 * documented once, on Cap, not name by name.
 */
export type CapTable = { readonly [K in CapName]: (typeof CAP_NUMBERS)[K] }

/** A KVM capability number: one of the values of {@link Cap}. */
export type Cap = CapTable[CapName]

// --- Exit reasons (struct kvm_run.exit_reason) and their sub-codes
/** kvm_run.exit_reason: unknown. */
export const KVM_EXIT_UNKNOWN = 0
/** kvm_run.exit_reason: exception. */
export const KVM_EXIT_EXCEPTION = 1
/** kvm_run.exit_reason: io. */
export const KVM_EXIT_IO = 2
/** kvm_run.exit_reason: hypercall. */
export const KVM_EXIT_HYPERCALL = 3
/** kvm_run.exit_reason: debug. */
export const KVM_EXIT_DEBUG = 4
/** kvm_run.exit_reason: hlt. */
export const KVM_EXIT_HLT = 5
/** kvm_run.exit_reason: mmio. */
export const KVM_EXIT_MMIO = 6
/** kvm_run.exit_reason: irq window open. */
export const KVM_EXIT_IRQ_WINDOW_OPEN = 7
/** kvm_run.exit_reason: shutdown. */
export const KVM_EXIT_SHUTDOWN = 8
/** kvm_run.exit_reason: fail entry. */
export const KVM_EXIT_FAIL_ENTRY = 9
/** kvm_run.exit_reason: intr. */
export const KVM_EXIT_INTR = 10
/** kvm_run.exit_reason: set tpr. */
export const KVM_EXIT_SET_TPR = 11
/** kvm_run.exit_reason: tpr access. */
export const KVM_EXIT_TPR_ACCESS = 12
/** kvm_run.exit_reason: nmi. */
export const KVM_EXIT_NMI = 16
/** kvm_run.exit_reason: internal error. */
export const KVM_EXIT_INTERNAL_ERROR = 17
/** kvm_run.exit_reason: system event. */
export const KVM_EXIT_SYSTEM_EVENT = 24
/** kvm_run.exit_reason: ioapic eoi. */
export const KVM_EXIT_IOAPIC_EOI = 26
/** kvm_run.exit_reason: hyperv. */
export const KVM_EXIT_HYPERV = 27
/** kvm_run.exit_reason: x86 rdmsr. */
export const KVM_EXIT_X86_RDMSR = 29
/** kvm_run.exit_reason: x86 wrmsr. */
export const KVM_EXIT_X86_WRMSR = 30
/** kvm_run.exit_reason: x86 bus lock. */
export const KVM_EXIT_X86_BUS_LOCK = 33
/** kvm_run.exit_reason: xen. */
export const KVM_EXIT_XEN = 34
/** kvm_run.exit_reason: notify. */
export const KVM_EXIT_NOTIFY = 37
/** kvm_run.xen.type: a hypercall. */
export const KVM_EXIT_XEN_HCALL = 1
/** kvm_run.io.direction: in. */
export const KVM_EXIT_IO_IN = 0
/** kvm_run.io.direction: out. */
export const KVM_EXIT_IO_OUT = 1
/** kvm_run.internal.suberror: emulation. */
export const KVM_INTERNAL_ERROR_EMULATION = 1
/** kvm_run.internal.suberror: simul ex. */
export const KVM_INTERNAL_ERROR_SIMUL_EX = 2
/** kvm_run.internal.suberror: delivery ev. */
export const KVM_INTERNAL_ERROR_DELIVERY_EV = 3
/** kvm_run.internal.suberror: unexpected exit reason. */
export const KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON = 4
/** kvm_run.system_event.type: shutdown. */
export const KVM_SYSTEM_EVENT_SHUTDOWN = 1
/** kvm_run.system_event.type: reset. */
export const KVM_SYSTEM_EVENT_RESET = 2
/** kvm_run.system_event.type: crash. */
export const KVM_SYSTEM_EVENT_CRASH = 3
/** kvm_run.system_event.type: wakeup. */
export const KVM_SYSTEM_EVENT_WAKEUP = 4
/** kvm_run.system_event.type: suspend. */
export const KVM_SYSTEM_EVENT_SUSPEND = 5

// --- Flags of the VM and vCPU structs
/** kvm_userspace_memory_region.flags: log dirty pages. */
export const KVM_MEM_LOG_DIRTY_PAGES = 1
/** kvm_userspace_memory_region.flags: readonly. */
export const KVM_MEM_READONLY = 2
/** kvm_irqfd.flags: deassign. */
export const KVM_IRQFD_FLAG_DEASSIGN = 1
/** kvm_irqfd.flags: resample. */
export const KVM_IRQFD_FLAG_RESAMPLE = 2
/** kvm_ioeventfd.flags: datamatch. */
export const KVM_IOEVENTFD_FLAG_DATAMATCH = 1
/** kvm_ioeventfd.flags: pio. */
export const KVM_IOEVENTFD_FLAG_PIO = 2
/** kvm_ioeventfd.flags: deassign. */
export const KVM_IOEVENTFD_FLAG_DEASSIGN = 4
/** kvm_pit_config.flags: a dummy PC speaker port. */
export const KVM_PIT_SPEAKER_DUMMY = 1
/** KVM_ENABLE_CAP(KVM_CAP_X2APIC_API) flag: use 32bit ids. */
export const KVM_X2APIC_API_USE_32BIT_IDS = 1
/** KVM_ENABLE_CAP(KVM_CAP_X2APIC_API) flag: disable broadcast quirk. */
export const KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK = 2
/** kvm_cpuid_entry2.flags: `index` selects a sub-leaf (the C name is misspelt). */
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1
/** Vectors covered by kvm_sregs.interrupt_bitmap. */
export const KVM_NR_INTERRUPTS = 256
/** kvm_mp_state.mp_state: runnable. */
export const KVM_MP_STATE_RUNNABLE = 0
/** kvm_mp_state.mp_state: uninitialized. */
export const KVM_MP_STATE_UNINITIALIZED = 1
/** kvm_mp_state.mp_state: init received. */
export const KVM_MP_STATE_INIT_RECEIVED = 2
/** kvm_mp_state.mp_state: halted. */
export const KVM_MP_STATE_HALTED = 3
/** kvm_mp_state.mp_state: sipi received. */
export const KVM_MP_STATE_SIPI_RECEIVED = 4

// --- ioctl numbers (x86_64)
/** Every ioctl number kvm-sys issues, by its C name. */
export const IOCTLS = {
  /** /dev/kvm, _IO(0x00): returns KVM_API_VERSION. */
  KVM_GET_API_VERSION: 0xae00,
  /** /dev/kvm, _IO(0x01): creates a VM, returns its fd. */
  KVM_CREATE_VM: 0xae01,
  /** /dev/kvm, _IOWR(0x02, kvm_msr_list): the MSRs KVM_GET_MSRS / KVM_SET_MSRS accept. */
  KVM_GET_MSR_INDEX_LIST: 0xc004ae02,
  /** /dev/kvm or VM fd, _IO(0x03): 0 if a KVM_CAP_* is absent, else > 0 (often a limit). */
  KVM_CHECK_EXTENSION: 0xae03,
  /** /dev/kvm, _IO(0x04): bytes to mmap from a vCPU fd (kvm_run plus the PIO data page). */
  KVM_GET_VCPU_MMAP_SIZE: 0xae04,
  /** /dev/kvm, _IOWR(0x05, kvm_cpuid2): the CPUID leaves KVM can expose. */
  KVM_GET_SUPPORTED_CPUID: 0xc008ae05,
  /** VM fd, _IO(0x41): creates a vCPU with the given id, returns its fd. */
  KVM_CREATE_VCPU: 0xae41,
  /** VM fd, _IOW(0x46, kvm_userspace_memory_region): adds, moves or deletes a memslot. */
  KVM_SET_USER_MEMORY_REGION: 0x4020ae46,
  /** VM fd, _IO(0x47): guest address of the 3-page TSS region Intel VMX needs. */
  KVM_SET_TSS_ADDR: 0xae47,
  /** VM fd, _IOW(0x48, __u64): guest address of the identity-map page table page (VMX). */
  KVM_SET_IDENTITY_MAP_ADDR: 0x4008ae48,
  /** VM fd, _IO(0x60): creates the in-kernel PIC pair, IOAPIC and local APICs. */
  KVM_CREATE_IRQCHIP: 0xae60,
  /** VM fd, _IOW(0x61, kvm_irq_level): sets a GSI's level. */
  KVM_IRQ_LINE: 0x4008ae61,
  /** VM fd, _IOWR(0x67, kvm_irq_level): KVM_IRQ_LINE that reports whether it was delivered. */
  KVM_IRQ_LINE_STATUS: 0xc008ae67,
  /** VM fd, _IOW(0x6a, kvm_irq_routing): replaces the whole GSI routing table. */
  KVM_SET_GSI_ROUTING: 0x4008ae6a,
  /** VM fd, _IOW(0x76, kvm_irqfd): binds an eventfd to a GSI (or unbinds it). */
  KVM_IRQFD: 0x4020ae76,
  /** VM fd, _IOW(0x77, kvm_pit_config): creates the in-kernel i8254 PIT. */
  KVM_CREATE_PIT2: 0x4040ae77,
  /** VM fd, _IOW(0x79, kvm_ioeventfd): signals an eventfd on a guest PIO/MMIO write. */
  KVM_IOEVENTFD: 0x4040ae79,
  /** VM fd, _IOW(0x7a, kvm_xen_hvm_config): enables Xen HVM emulation. */
  KVM_XEN_HVM_CONFIG: 0x4038ae7a,
  /** VM fd, _IOW(0x7b, kvm_clock_data): sets the guest's kvmclock. */
  KVM_SET_CLOCK: 0x4030ae7b,
  /** VM fd, _IOR(0x7c, kvm_clock_data): reads the guest's kvmclock. */
  KVM_GET_CLOCK: 0x8030ae7c,
  /** vCPU fd, _IO(0x80): runs the vCPU until the next exit to userspace. */
  KVM_RUN: 0xae80,
  /** vCPU fd, _IOR(0x81, kvm_regs): reads the general-purpose registers. */
  KVM_GET_REGS: 0x8090ae81,
  /** vCPU fd, _IOW(0x82, kvm_regs): writes the general-purpose registers. */
  KVM_SET_REGS: 0x4090ae82,
  /** vCPU fd, _IOR(0x83, kvm_sregs): reads segments, descriptor tables and control registers. */
  KVM_GET_SREGS: 0x8138ae83,
  /** vCPU fd, _IOW(0x84, kvm_sregs): writes segments, descriptor tables and control registers. */
  KVM_SET_SREGS: 0x4138ae84,
  /** vCPU fd, _IOW(0x86, kvm_interrupt): queues an external interrupt (no in-kernel irqchip). */
  KVM_INTERRUPT: 0x4004ae86,
  /** vCPU fd, _IOWR(0x88, kvm_msrs): reads MSRs, returns how many were read. */
  KVM_GET_MSRS: 0xc008ae88,
  /** vCPU fd, _IOW(0x89, kvm_msrs): writes MSRs, returns how many were written. */
  KVM_SET_MSRS: 0x4008ae89,
  /** vCPU fd, _IOR(0x8c, kvm_fpu): reads the x87 / SSE state. */
  KVM_GET_FPU: 0x81a0ae8c,
  /** vCPU fd, _IOW(0x8d, kvm_fpu): writes the x87 / SSE state. */
  KVM_SET_FPU: 0x41a0ae8d,
  /** vCPU fd, _IOR(0x8e, kvm_lapic_state): reads the local APIC register page. */
  KVM_GET_LAPIC: 0x8400ae8e,
  /** vCPU fd, _IOW(0x8f, kvm_lapic_state): writes the local APIC register page. */
  KVM_SET_LAPIC: 0x4400ae8f,
  /** vCPU fd, _IOW(0x90, kvm_cpuid2): sets the CPUID leaves the guest sees. */
  KVM_SET_CPUID2: 0x4008ae90,
  /** vCPU fd, _IO(0x9a): injects an NMI. */
  KVM_NMI: 0xae9a,
  /** vCPU fd, _IOR(0x98, kvm_mp_state): reads the multiprocessing state. */
  KVM_GET_MP_STATE: 0x8004ae98,
  /** vCPU fd, _IOW(0x99, kvm_mp_state): sets the multiprocessing state. */
  KVM_SET_MP_STATE: 0x4004ae99,
  /** vCPU fd, _IOR(0x9f, kvm_vcpu_events): reads pending exceptions, interrupts and NMIs. */
  KVM_GET_VCPU_EVENTS: 0x8040ae9f,
  /** vCPU fd, _IOW(0xa0, kvm_vcpu_events): sets pending exceptions, interrupts and NMIs. */
  KVM_SET_VCPU_EVENTS: 0x4040aea0,
  /** VM or vCPU fd, _IOW(0xa3, kvm_enable_cap): turns on a capability that needs opting in. */
  KVM_ENABLE_CAP: 0x4068aea3,
  /** VM fd, _IOW(0xa5, kvm_msi): injects one MSI. */
  KVM_SIGNAL_MSI: 0x4020aea5,
  /** vCPU (or VM) fd, _IO(0xa2): sets the guest TSC frequency in kHz. */
  KVM_SET_TSC_KHZ: 0xaea2,
  /** vCPU (or VM) fd, _IO(0xa3): returns the guest TSC frequency in kHz. */
  KVM_GET_TSC_KHZ: 0xaea3,
  /** VM fd, _IOWR(0xc8, kvm_xen_hvm_attr): reads a Xen VM attribute. */
  KVM_XEN_HVM_GET_ATTR: 0xc048aec8,
  /** VM fd, _IOW(0xc9, kvm_xen_hvm_attr): sets a Xen VM attribute. */
  KVM_XEN_HVM_SET_ATTR: 0x4048aec9,
  /** vCPU fd, _IOWR(0xca, kvm_xen_vcpu_attr): reads a Xen vCPU attribute. */
  KVM_XEN_VCPU_GET_ATTR: 0xc048aeca,
  /** vCPU fd, _IOW(0xcb, kvm_xen_vcpu_attr): sets a Xen vCPU attribute. */
  KVM_XEN_VCPU_SET_ATTR: 0x4048aecb,
  /** VM fd, _IOW(0xd0, kvm_irq_routing_xen_evtchn): raises a Xen event channel port. */
  KVM_XEN_HVM_EVTCHN_SEND: 0x400caed0,
} as const

// --- Struct layouts (sizeof and offsetof as gcc computes them for x86_64)

/** struct kvm_run: the area mmap'd from a vCPU fd; KVM_RUN reports each exit here. */
export const kvm_run = {
  /** sizeof(struct kvm_run). */
  size: 2352,
  /** __u8 request_interrupt_window: in; exit with IRQ_WINDOW_OPEN once injection is possible. */
  request_interrupt_window: 0,
  /** __u8 immediate_exit: in; non-zero makes KVM_RUN return EINTR before entering the guest. */
  immediate_exit: 1,
  /** __u32 exit_reason: out; a KVM_EXIT_* code. */
  exit_reason: 8,
  /** __u8 ready_for_interrupt_injection: out; KVM_INTERRUPT would be taken now. */
  ready_for_interrupt_injection: 12,
  /** __u8 if_flag: out; the guest's RFLAGS.IF. */
  if_flag: 13,
  /** __u16 flags: out; KVM_RUN_X86_SMM and friends. */
  flags: 14,
  /** __u64 cr8: in/out; the task priority register. */
  cr8: 16,
  /** __u64 apic_base: out; the IA32_APIC_BASE MSR. */
  apic_base: 24,
  /** KVM_EXIT_UNKNOWN. */
  hw: {
    /** __u64 hardware_exit_reason: the VMX/SVM exit code KVM did not handle. */
    hardware_exit_reason: 32,
  },
  /** KVM_EXIT_FAIL_ENTRY. */
  fail_entry: {
    /** __u64 hardware_entry_failure_reason: the VM-entry failure code. */
    hardware_entry_failure_reason: 32,
    /** __u32 cpu: host CPU the entry failed on. */
    cpu: 40,
  },
  /** KVM_EXIT_EXCEPTION. */
  ex: {
    /** __u32 exception: the vector. */
    exception: 32,
    /** __u32 error_code: the exception's error code. */
    error_code: 36,
  },
  /** KVM_EXIT_IO. */
  io: {
    /** __u8 direction: KVM_EXIT_IO_IN or KVM_EXIT_IO_OUT. */
    direction: 32,
    /** __u8 size: bytes per access (1, 2 or 4). */
    size: 33,
    /** __u16 port: the I/O port. */
    port: 34,
    /** __u32 count: number of accesses (> 1 for REP INS/OUTS). */
    count: 36,
    /** __u64 data_offset: offset of the data from the start of kvm_run. */
    data_offset: 40,
  },
  /** KVM_EXIT_MMIO. */
  mmio: {
    /** __u64 phys_addr: the guest physical address. */
    phys_addr: 32,
    /** __u8 data[8]: written bytes, or where to put the bytes read. */
    data: 40,
    /** __u32 len: access width in bytes (1-8). */
    len: 48,
    /** __u8 is_write: non-zero for a write. */
    is_write: 52,
  },
  /** KVM_EXIT_INTERNAL_ERROR. */
  internal: {
    /** __u32 suberror: a KVM_INTERNAL_ERROR_* code. */
    suberror: 32,
    /** __u32 ndata: valid entries in data. */
    ndata: 36,
    /** __u64 data[16]: suberror-specific details. */
    data: 40,
  },
  /** KVM_EXIT_SYSTEM_EVENT. */
  system_event: {
    /** __u32 type: a KVM_SYSTEM_EVENT_* code. */
    type: 32,
    /** __u32 ndata: valid entries in data. */
    ndata: 36,
    /** __u64 data[16]: architecture-specific details (data[0] was `flags`). */
    data: 40,
  },
  /** KVM_EXIT_IOAPIC_EOI (split irqchip). */
  eoi: {
    /** __u8 vector: the level-triggered vector the guest EOI'd. */
    vector: 32,
  },
  /** KVM_EXIT_XEN: struct kvm_xen_exit. */
  xen: {
    /** __u32 type: KVM_EXIT_XEN_HCALL. */
    type: 32,
    /** union u of struct kvm_xen_exit. */
    u: {
      /** A Xen hypercall the kernel did not handle. */
      hcall: {
        /** __u32 longmode: 1 if the guest was in 64-bit mode. */
        longmode: 40,
        /** __u32 cpl: the caller's privilege level. */
        cpl: 44,
        /** __u64 input: the hypercall number (RAX / EAX). */
        input: 48,
        /** __u64 result: in on the next KVM_RUN; the value put in RAX. */
        result: 56,
        /** __u64 params[6]: the arguments (RDI, RSI, RDX, R10, R8, R9 or EBX..EBP). */
        params: 64,
      },
    },
  },
} as const

/** struct kvm_regs (KVM_GET_REGS / KVM_SET_REGS): 18 u64. */
export const kvm_regs = {
  /** sizeof(struct kvm_regs). */
  size: 144,
  /** __u64 rax. */
  rax: 0,
  /** __u64 rbx. */
  rbx: 8,
  /** __u64 rcx. */
  rcx: 16,
  /** __u64 rdx. */
  rdx: 24,
  /** __u64 rsi. */
  rsi: 32,
  /** __u64 rdi. */
  rdi: 40,
  /** __u64 rsp: the stack pointer. */
  rsp: 48,
  /** __u64 rbp: the frame pointer. */
  rbp: 56,
  /** __u64 r8. */
  r8: 64,
  /** __u64 r9. */
  r9: 72,
  /** __u64 r10. */
  r10: 80,
  /** __u64 r11. */
  r11: 88,
  /** __u64 r12. */
  r12: 96,
  /** __u64 r13. */
  r13: 104,
  /** __u64 r14. */
  r14: 112,
  /** __u64 r15. */
  r15: 120,
  /** __u64 rip: the instruction pointer. */
  rip: 128,
  /** __u64 rflags: the flags register (bit 1 always set). */
  rflags: 136,
} as const

/** struct kvm_segment: one segment register as KVM_GET_SREGS reports it. */
export const kvm_segment = {
  /** sizeof(struct kvm_segment). */
  size: 24,
  /** __u64 base: the segment base address. */
  base: 0,
  /** __u32 limit: the segment limit in bytes (already scaled by g). */
  limit: 8,
  /** __u16 selector: the visible selector. */
  selector: 12,
  /** __u8 type: the descriptor's 4-bit type field. */
  type: 14,
  /** __u8 present: the P bit. */
  present: 15,
  /** __u8 dpl: the descriptor privilege level (0-3). */
  dpl: 16,
  /** __u8 db: the D/B bit (32-bit default operand size). */
  db: 17,
  /** __u8 s: the S bit (1 = code or data, 0 = system). */
  s: 18,
  /** __u8 l: the L bit (64-bit code segment). */
  l: 19,
  /** __u8 g: the G bit (limit in 4 KiB units). */
  g: 20,
  /** __u8 avl: the software-available bit. */
  avl: 21,
  /** __u8 unusable: the segment is unusable (VMX access-rights bit 16). */
  unusable: 22,
  /** __u8 padding. */
  padding: 23,
} as const

/** struct kvm_dtable: GDTR / IDTR. */
export const kvm_dtable = {
  /** sizeof(struct kvm_dtable). */
  size: 16,
  /** __u64 base: linear address of the table. */
  base: 0,
  /** __u16 limit: size of the table in bytes, minus one. */
  limit: 8,
  /** __u16 padding[3]. */
  padding: 10,
} as const

/** struct kvm_sregs (KVM_GET_SREGS / KVM_SET_SREGS). */
export const kvm_sregs = {
  /** sizeof(struct kvm_sregs). */
  size: 312,
  /** struct kvm_segment cs: the code segment. */
  cs: 0,
  /** struct kvm_segment ds. */
  ds: 24,
  /** struct kvm_segment es. */
  es: 48,
  /** struct kvm_segment fs. */
  fs: 72,
  /** struct kvm_segment gs. */
  gs: 96,
  /** struct kvm_segment ss: the stack segment. */
  ss: 120,
  /** struct kvm_segment tr: the task register. */
  tr: 144,
  /** struct kvm_segment ldt: the LDT register. */
  ldt: 168,
  /** struct kvm_dtable gdt: GDTR. */
  gdt: 192,
  /** struct kvm_dtable idt: IDTR. */
  idt: 208,
  /** __u64 cr0. */
  cr0: 224,
  /** __u64 cr2: the last page-fault address. */
  cr2: 232,
  /** __u64 cr3: the page-table root. */
  cr3: 240,
  /** __u64 cr4. */
  cr4: 248,
  /** __u64 cr8: the task priority register. */
  cr8: 256,
  /** __u64 efer: the IA32_EFER MSR. */
  efer: 264,
  /** __u64 apic_base: the IA32_APIC_BASE MSR. */
  apic_base: 272,
  /** __u64 interrupt_bitmap[4]: the pending external interrupt, one bit per vector. */
  interrupt_bitmap: 280,
} as const

/** struct kvm_fpu (KVM_GET_FPU / KVM_SET_FPU). */
export const kvm_fpu = {
  /** sizeof(struct kvm_fpu). */
  size: 416,
  /** __u8 fpr[8][16]: the x87 registers ST0-ST7, 80 bits each in 16-byte slots. */
  fpr: 0,
  /** __u16 fcw: the x87 control word. */
  fcw: 128,
  /** __u16 fsw: the x87 status word. */
  fsw: 130,
  /** __u8 ftwx: the abridged (FXSAVE) tag word, one bit per register. */
  ftwx: 132,
  /** __u8 pad1. */
  pad1: 133,
  /** __u16 last_opcode: FOP, the last x87 opcode. */
  last_opcode: 134,
  /** __u64 last_ip: FIP, the last x87 instruction pointer. */
  last_ip: 136,
  /** __u64 last_dp: FDP, the last x87 data pointer. */
  last_dp: 144,
  /** __u8 xmm[16][16]: XMM0-XMM15. */
  xmm: 152,
  /** __u32 mxcsr: the SSE control and status register. */
  mxcsr: 408,
  /** __u32 pad2. */
  pad2: 412,
} as const

/** struct kvm_msrs header (KVM_GET_MSRS / KVM_SET_MSRS), followed by kvm_msr_entry[nmsrs]. */
export const kvm_msrs = {
  /** sizeof(struct kvm_msrs): the header alone. */
  size: 8,
  /** __u32 nmsrs: number of entries. */
  nmsrs: 0,
  /** __u32 pad. */
  pad: 4,
  /** struct kvm_msr_entry entries[nmsrs]. */
  entries: 8,
} as const
/** struct kvm_msr_entry. */
export const kvm_msr_entry = {
  /** sizeof(struct kvm_msr_entry). */
  size: 16,
  /** __u32 index: the MSR number. */
  index: 0,
  /** __u32 reserved. */
  reserved: 4,
  /** __u64 data: the MSR value. */
  data: 8,
} as const
/** struct kvm_msr_list header (KVM_GET_MSR_INDEX_LIST), followed by u32 indices[nmsrs]. */
export const kvm_msr_list = {
  /** sizeof(struct kvm_msr_list): the header alone. */
  size: 4,
  /** __u32 nmsrs: in, room in indices; out, the number KVM has. */
  nmsrs: 0,
  /** __u32 indices[nmsrs]: the MSR numbers. */
  indices: 4,
} as const
/** struct kvm_cpuid2 header (KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2), then entries[nent]. */
export const kvm_cpuid2 = {
  /** sizeof(struct kvm_cpuid2): the header alone. */
  size: 8,
  /** __u32 nent: number of entries (in: room; out: filled, for GET). */
  nent: 0,
  /** __u32 padding. */
  padding: 4,
  /** struct kvm_cpuid_entry2 entries[nent]. */
  entries: 8,
} as const
/** struct kvm_cpuid_entry2. */
export const kvm_cpuid_entry2 = {
  /** sizeof(struct kvm_cpuid_entry2). */
  size: 40,
  /** __u32 function: the leaf (EAX input). */
  function: 0,
  /** __u32 index: the sub-leaf (ECX input), if KVM_CPUID_FLAG_SIGNIFCANT_INDEX. */
  index: 4,
  /** __u32 flags: KVM_CPUID_FLAG_*. */
  flags: 8,
  /** __u32 eax: output register. */
  eax: 12,
  /** __u32 ebx: output register. */
  ebx: 16,
  /** __u32 ecx: output register. */
  ecx: 20,
  /** __u32 edx: output register. */
  edx: 24,
  /** __u32 padding[3]. */
  padding: 28,
} as const
/** struct kvm_lapic_state (KVM_GET_LAPIC / KVM_SET_LAPIC): the APIC register page. */
export const kvm_lapic_state = {
  /** sizeof(struct kvm_lapic_state): KVM_APIC_REG_SIZE. */
  size: 1024,
  /** char regs[1024]: the xAPIC registers at their MMIO offsets. */
  regs: 0,
} as const
/** struct kvm_interrupt (KVM_INTERRUPT). */
export const kvm_interrupt = {
  /** sizeof(struct kvm_interrupt). */
  size: 4,
  /** __u32 irq: the vector to inject. */
  irq: 0,
} as const
/** struct kvm_irq_level (KVM_IRQ_LINE / KVM_IRQ_LINE_STATUS). */
export const kvm_irq_level = {
  /** sizeof(struct kvm_irq_level). */
  size: 8,
  /** __u32 irq: in; the GSI. */
  irq: 0,
  /** __s32 status: out of KVM_IRQ_LINE_STATUS (union with irq); > 0 delivered, 0 coalesced. */
  status: 0,
  /** __u32 level: 1 asserts, 0 deasserts. */
  level: 4,
} as const
/** struct kvm_msi (KVM_SIGNAL_MSI). */
export const kvm_msi = {
  /** sizeof(struct kvm_msi). */
  size: 32,
  /** __u32 address_lo: low half of the MSI address. */
  address_lo: 0,
  /** __u32 address_hi: high half of the MSI address. */
  address_hi: 4,
  /** __u32 data: the MSI data word. */
  data: 8,
  /** __u32 flags: KVM_MSI_VALID_DEVID. */
  flags: 12,
  /** __u32 devid: requester id, valid with KVM_MSI_VALID_DEVID. */
  devid: 16,
  /** __u8 pad[12]. */
  pad: 20,
} as const
/** struct kvm_irqfd (KVM_IRQFD). */
export const kvm_irqfd = {
  /** sizeof(struct kvm_irqfd). */
  size: 32,
  /** __u32 fd: the eventfd whose signal raises the GSI. */
  fd: 0,
  /** __u32 gsi: the GSI it raises. */
  gsi: 4,
  /** __u32 flags: KVM_IRQFD_FLAG_DEASSIGN, KVM_IRQFD_FLAG_RESAMPLE. */
  flags: 8,
  /** __u32 resamplefd: eventfd signalled on EOI of a level GSI (with FLAG_RESAMPLE). */
  resamplefd: 12,
  /** __u8 pad[16]. */
  pad: 16,
} as const
/** struct kvm_ioeventfd (KVM_IOEVENTFD). */
export const kvm_ioeventfd = {
  /** sizeof(struct kvm_ioeventfd). */
  size: 64,
  /** __u64 datamatch: the value a write must carry, with KVM_IOEVENTFD_FLAG_DATAMATCH. */
  datamatch: 0,
  /** __u64 addr: the guest physical address or PIO port. */
  addr: 8,
  /** __u32 len: access width in bytes (1, 2, 4, 8; 0 = any). */
  len: 16,
  /** __s32 fd: the eventfd to signal. */
  fd: 20,
  /** __u32 flags: KVM_IOEVENTFD_FLAG_*. */
  flags: 24,
  /** __u8 pad[36]. */
  pad: 28,
} as const
/** struct kvm_pit_config (KVM_CREATE_PIT2). */
export const kvm_pit_config = {
  /** sizeof(struct kvm_pit_config). */
  size: 64,
  /** __u32 flags: KVM_PIT_SPEAKER_DUMMY. */
  flags: 0,
  /** __u32 pad[15]. */
  pad: 4,
} as const
/** struct kvm_enable_cap (KVM_ENABLE_CAP). */
export const kvm_enable_cap = {
  /** sizeof(struct kvm_enable_cap). */
  size: 104,
  /** __u32 cap: the KVM_CAP_* to enable. */
  cap: 0,
  /** __u32 flags: must be 0. */
  flags: 4,
  /** __u64 args[4]: capability-specific arguments. */
  args: 8,
  /** __u8 pad[64]. */
  pad: 40,
} as const
/** struct kvm_userspace_memory_region (KVM_SET_USER_MEMORY_REGION). */
export const kvm_userspace_memory_region = {
  /** sizeof(struct kvm_userspace_memory_region). */
  size: 32,
  /** __u32 slot: the memslot id (address space in bits 16-31). */
  slot: 0,
  /** __u32 flags: KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY. */
  flags: 4,
  /** __u64 guest_phys_addr: where the slot starts in guest physical memory. */
  guest_phys_addr: 8,
  /** __u64 memory_size: bytes; 0 deletes the slot. */
  memory_size: 16,
  /** __u64 userspace_addr: the host virtual address backing it. */
  userspace_addr: 24,
} as const
/** struct kvm_mp_state (KVM_GET_MP_STATE / KVM_SET_MP_STATE). */
export const kvm_mp_state = {
  /** sizeof(struct kvm_mp_state). */
  size: 4,
  /** __u32 mp_state: a KVM_MP_STATE_* value. */
  mp_state: 0,
} as const
/** struct kvm_clock_data (KVM_GET_CLOCK / KVM_SET_CLOCK). */
export const kvm_clock_data = {
  /** sizeof(struct kvm_clock_data). */
  size: 48,
  /** __u64 clock: kvmclock, in ns. */
  clock: 0,
  /** __u32 flags: KVM_CLOCK_TSC_STABLE, KVM_CLOCK_REALTIME, KVM_CLOCK_HOST_TSC. */
  flags: 8,
  /** __u32 pad0. */
  pad0: 12,
  /** __u64 realtime: host CLOCK_REALTIME in ns at the same instant (KVM_CLOCK_REALTIME). */
  realtime: 16,
  /** __u64 host_tsc: host TSC at the same instant (KVM_CLOCK_HOST_TSC). */
  host_tsc: 24,
  /** __u32 pad[4]. */
  pad: 32,
} as const
/** struct kvm_vcpu_events (KVM_GET_VCPU_EVENTS / KVM_SET_VCPU_EVENTS). */
export const kvm_vcpu_events = {
  /** sizeof(struct kvm_vcpu_events). */
  size: 64,
  /** The exception being delivered or pending. */
  exception: {
    /** __u8 injected: an exception is being delivered. */
    injected: 0,
    /** __u8 nr: its vector. */
    nr: 1,
    /** __u8 has_error_code: error_code is valid. */
    has_error_code: 2,
    /** __u8 pending: queued but not yet delivered (KVM_CAP_EXCEPTION_PAYLOAD). */
    pending: 3,
    /** __u32 error_code: the exception's error code. */
    error_code: 4,
  },
  /** The external or soft interrupt being delivered. */
  interrupt: {
    /** __u8 injected: an interrupt is being delivered. */
    injected: 8,
    /** __u8 nr: its vector. */
    nr: 9,
    /** __u8 soft: it came from INTn. */
    soft: 10,
    /** __u8 shadow: KVM_X86_SHADOW_INT_MOV_SS / _STI interrupt shadow. */
    shadow: 11,
  },
  /** NMI state. */
  nmi: {
    /** __u8 injected: an NMI is being delivered. */
    injected: 12,
    /** __u8 pending: an NMI is waiting. */
    pending: 13,
    /** __u8 masked: NMIs are blocked (inside an NMI handler). */
    masked: 14,
    /** __u8 pad. */
    pad: 15,
  },
  /** __u32 sipi_vector: the vector of a latched startup IPI. */
  sipi_vector: 16,
  /** __u32 flags: KVM_VCPUEVENT_VALID_* (which parts SET applies). */
  flags: 20,
} as const
/** struct kvm_xen_hvm_config (KVM_XEN_HVM_CONFIG). */
export const kvm_xen_hvm_config = {
  /** sizeof(struct kvm_xen_hvm_config). */
  size: 56,
  /** __u32 flags: KVM_XEN_HVM_CONFIG_* features to enable. */
  flags: 0,
  /** __u32 msr: the MSR whose write fills the hypercall page (0 = none). */
  msr: 4,
  /** __u64 blob_addr_32: userspace address of a 32-bit hypercall page blob (legacy). */
  blob_addr_32: 8,
  /** __u64 blob_addr_64: userspace address of a 64-bit hypercall page blob (legacy). */
  blob_addr_64: 16,
  /** __u8 blob_size_32: pages in the 32-bit blob (0 = KVM writes the page itself). */
  blob_size_32: 24,
  /** __u8 blob_size_64: pages in the 64-bit blob (0 = KVM writes the page itself). */
  blob_size_64: 25,
  /** __u8 pad2[30]. */
  pad2: 26,
} as const
/** struct kvm_xen_hvm_attr (KVM_XEN_HVM_SET_ATTR / KVM_XEN_HVM_GET_ATTR). */
export const kvm_xen_hvm_attr = {
  /** sizeof(struct kvm_xen_hvm_attr). */
  size: 72,
  /** __u16 type: a KVM_XEN_ATTR_TYPE_* value selecting the union member. */
  type: 0,
  /** __u16 pad[3]. */
  pad: 2,
  /** union u: the attribute's value (64 bytes). */
  u: {
    /** __u8 long_mode: LONG_MODE; 1 = 64-bit shared_info layout. */
    long_mode: 8,
    /** __u8 vector: UPCALL_VECTOR; the callback vector (0 = none). */
    vector: 8,
    /** __u8 runstate_update_flag: RUNSTATE_UPDATE_FLAG; 1 = set XEN_RUNSTATE_UPDATE. */
    runstate_update_flag: 8,
    /** SHARED_INFO / SHARED_INFO_HVA. */
    shared_info: {
      /** __u64 gfn: guest frame of shared_info (KVM_XEN_INVALID_GFN = none). */
      gfn: 8,
      /** __u64 hva: host address of shared_info (same slot as gfn). */
      hva: 8,
    },
    /** EVTCHN: one port EVTCHNOP_send handles in kernel. */
    evtchn: {
      /** __u32 send_port: the guest's port. */
      send_port: 8,
      /** __u32 type: EVTCHNSTAT_ipi or EVTCHNSTAT_interdomain. */
      type: 12,
      /** __u32 flags: KVM_XEN_EVTCHN_DEASSIGN, _UPDATE or _RESET. */
      flags: 16,
      /** Where a send goes: back to the guest, or to an eventfd. */
      deliver: {
        /** Loop back to a guest port. */
        port: {
          /** __u32 port: the guest port raised. */
          port: 20,
          /** __u32 vcpu: its target vCPU by KVM vCPU id, as on a XEN_EVTCHN route. */
          vcpu: 24,
          /** __u32 priority: KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL. */
          priority: 28,
        },
        /** Signal an eventfd. */
        eventfd: {
          /** __u32 port: 0 for eventfd delivery. */
          port: 20,
          /** __s32 fd: the eventfd. */
          fd: 24,
        },
      },
    },
    /** __u32 xen_version: XEN_VERSION; what XENVER_version returns in kernel. */
    xen_version: 8,
  },
} as const
/** struct kvm_xen_vcpu_attr (KVM_XEN_VCPU_SET_ATTR / KVM_XEN_VCPU_GET_ATTR). */
export const kvm_xen_vcpu_attr = {
  /** sizeof(struct kvm_xen_vcpu_attr). */
  size: 72,
  /** __u16 type: a KVM_XEN_VCPU_ATTR_TYPE_* value selecting the union member. */
  type: 0,
  /** __u16 pad[3]. */
  pad: 2,
  /** union u: the attribute's value (64 bytes). */
  u: {
    /** __u64 gpa: VCPU_INFO, VCPU_TIME_INFO, RUNSTATE_ADDR; KVM_XEN_INVALID_GPA = off. */
    gpa: 8,
    /** __u64 hva: VCPU_INFO_HVA; host address of vcpu_info. */
    hva: 8,
    /** RUNSTATE_CURRENT / _DATA / _ADJUST: Xen's struct vcpu_runstate_info. */
    runstate: {
      /** __u64 state: RUNSTATE_running, _runnable, _blocked or _offline. */
      state: 8,
      /** __u64 state_entry_time: ns of system time when state was entered. */
      state_entry_time: 16,
      /** __u64 time_running: ns spent running. */
      time_running: 24,
      /** __u64 time_runnable: ns spent runnable. */
      time_runnable: 32,
      /** __u64 time_blocked: ns spent blocked. */
      time_blocked: 40,
      /** __u64 time_offline: ns spent offline. */
      time_offline: 48,
    },
    /** __u32 vcpu_id: VCPU_ID; the Xen vCPU id hypercalls use. */
    vcpu_id: 8,
    /** TIMER: the singleshot timer (VCPUOP_set_singleshot_timer). */
    timer: {
      /** __u32 port: the VIRQ_TIMER event channel port. */
      port: 8,
      /** __u32 priority: KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL. */
      priority: 12,
      /** __u64 expires_ns: deadline in Xen system time ns (0 = stopped). */
      expires_ns: 16,
    },
    /** __u8 vector: UPCALL_VECTOR; the per-vCPU local APIC upcall vector. */
    vector: 8,
  },
} as const
