// The KVM userspace ABI (x86_64) as plain TypeScript: constants, struct sizes and offsets.
// Pure: loads no native code. test/abi.test.ts compiles a C program against the installed
// <linux/kvm.h> and checks every exported value here against it.
//
// Naming: a number is the C macro of the same name. A lower-case object is a struct layout
// named after the C struct: `size` is sizeof, every other key an offset, nested objects follow
// the C member path (kvm_run.io.port is offsetof(struct kvm_run, io.port)). IOCTLS holds ioctl
// numbers. KVM_IRQ_ROUTING, KVM_IRQ_ROUTING_ENTRY and KVM_STRUCT_SIZES predate that rule.

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
  size: 8,
  nr: 0,
  flags: 4,
  entries: 8,
} as const
/** Layout of struct kvm_irq_routing_entry; its union members are camelCase here. */
export const KVM_IRQ_ROUTING_ENTRY = {
  size: 48,
  gsi: 0,
  type: 4,
  flags: 8,
  pad: 12,
  u: 16,
  /** struct kvm_irq_routing_irqchip { __u32 irqchip; __u32 pin; } */
  irqchip: { irqchip: 16, pin: 20 },
  /** struct kvm_irq_routing_msi { address_lo, address_hi, data, devid/pad } */
  msi: { addressLo: 16, addressHi: 20, data: 24, devid: 28 },
  /** struct kvm_irq_routing_s390_adapter */
  s390Adapter: { indAddr: 16, summaryAddr: 24, indOffset: 32, summaryOffset: 40, adapterId: 44 },
  /** struct kvm_irq_routing_hv_sint { __u32 vcpu; __u32 sint; } */
  hvSint: { vcpu: 16, sint: 20 },
  /** struct kvm_irq_routing_xen_evtchn { __u32 port; __u32 vcpu; __u32 priority; } */
  xenEvtchn: { port: 16, vcpu: 20, priority: 24 },
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
  HYPERCALL_MSR: KVM_XEN_HVM_CONFIG_HYPERCALL_MSR,
  INTERCEPT_HCALL: KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL,
  SHARED_INFO: KVM_XEN_HVM_CONFIG_SHARED_INFO,
  RUNSTATE: KVM_XEN_HVM_CONFIG_RUNSTATE,
  EVTCHN_2LEVEL: KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL,
  EVTCHN_SEND: KVM_XEN_HVM_CONFIG_EVTCHN_SEND,
  RUNSTATE_UPDATE_FLAG: KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG,
  PVCLOCK_TSC_UNSTABLE: KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE,
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
/** Xen's EVTCHNSTAT_* port types that KVM_XEN_ATTR_TYPE_EVTCHN accepts (xen/event_channel.h). */
export const EVTCHNSTAT_interdomain = 2
/** EVTCHNSTAT_ipi: an IPI port (loops back to itself). */
export const EVTCHNSTAT_ipi = 5

/** Sizes of the structs the ioctls above take. */
export const KVM_STRUCT_SIZES = {
  kvm_irqfd: 32,
  kvm_ioeventfd: 64,
  kvm_msi: 32,
  kvm_xen_hvm_config: 56,
  kvm_xen_hvm_attr: 72,
  kvm_xen_vcpu_attr: 72,
  kvm_irq_routing_xen_evtchn: 12,
} as const

// --- Capabilities (KVM_CHECK_EXTENSION)
/** KVM_CHECK_EXTENSION capability: irqchip. */
export const KVM_CAP_IRQCHIP = 0
/** KVM_CHECK_EXTENSION capability: hlt. */
export const KVM_CAP_HLT = 1
/** KVM_CHECK_EXTENSION capability: user memory. */
export const KVM_CAP_USER_MEMORY = 3
/** KVM_CHECK_EXTENSION capability: set tss addr. */
export const KVM_CAP_SET_TSS_ADDR = 4
/** KVM_CHECK_EXTENSION capability: ext cpuid. */
export const KVM_CAP_EXT_CPUID = 7
/** KVM_CHECK_EXTENSION capability: nr vcpus. */
export const KVM_CAP_NR_VCPUS = 9
/** KVM_CHECK_EXTENSION capability: nr memslots. */
export const KVM_CAP_NR_MEMSLOTS = 10
/** KVM_CHECK_EXTENSION capability: pit. */
export const KVM_CAP_PIT = 11
/** KVM_CHECK_EXTENSION capability: mp state. */
export const KVM_CAP_MP_STATE = 14
/** KVM_CHECK_EXTENSION capability: sync mmu. */
export const KVM_CAP_SYNC_MMU = 16
/** KVM_CHECK_EXTENSION capability: user nmi. */
export const KVM_CAP_USER_NMI = 22
/** KVM_CHECK_EXTENSION capability: irq routing. */
export const KVM_CAP_IRQ_ROUTING = 25
/** KVM_CHECK_EXTENSION capability: irq inject status. */
export const KVM_CAP_IRQ_INJECT_STATUS = 26
/** KVM_CHECK_EXTENSION capability: irqfd. */
export const KVM_CAP_IRQFD = 32
/** KVM_CHECK_EXTENSION capability: pit2. */
export const KVM_CAP_PIT2 = 33
/** KVM_CHECK_EXTENSION capability: ioeventfd. */
export const KVM_CAP_IOEVENTFD = 36
/** KVM_CHECK_EXTENSION capability: set identity map addr. */
export const KVM_CAP_SET_IDENTITY_MAP_ADDR = 37
/** KVM_CHECK_EXTENSION capability: xen hvm. */
export const KVM_CAP_XEN_HVM = 38
/** KVM_CHECK_EXTENSION capability: adjust clock. */
export const KVM_CAP_ADJUST_CLOCK = 39
/** KVM_CHECK_EXTENSION capability: vcpu events. */
export const KVM_CAP_VCPU_EVENTS = 41
/** KVM_CHECK_EXTENSION capability: hyperv. */
export const KVM_CAP_HYPERV = 44
/** KVM_CHECK_EXTENSION capability: xsave. */
export const KVM_CAP_XSAVE = 55
/** KVM_CHECK_EXTENSION capability: tsc control. */
export const KVM_CAP_TSC_CONTROL = 60
/** KVM_CHECK_EXTENSION capability: get tsc khz. */
export const KVM_CAP_GET_TSC_KHZ = 61
/** KVM_CHECK_EXTENSION capability: max vcpus. */
export const KVM_CAP_MAX_VCPUS = 66
/** KVM_CHECK_EXTENSION capability: tsc deadline timer. */
export const KVM_CAP_TSC_DEADLINE_TIMER = 72
/** KVM_CHECK_EXTENSION capability: signal msi. */
export const KVM_CAP_SIGNAL_MSI = 77
/** KVM_CHECK_EXTENSION capability: readonly mem. */
export const KVM_CAP_READONLY_MEM = 81
/** KVM_CHECK_EXTENSION capability: irqfd resample. */
export const KVM_CAP_IRQFD_RESAMPLE = 82
/** KVM_CHECK_EXTENSION capability: check extension vm. */
export const KVM_CAP_CHECK_EXTENSION_VM = 105
/** KVM_CHECK_EXTENSION capability: split irqchip. */
export const KVM_CAP_SPLIT_IRQCHIP = 121
/** KVM_CHECK_EXTENSION capability: hyperv synic. */
export const KVM_CAP_HYPERV_SYNIC = 123
/** KVM_CHECK_EXTENSION capability: ioeventfd any length. */
export const KVM_CAP_IOEVENTFD_ANY_LENGTH = 122
/** KVM_CHECK_EXTENSION capability: max vcpu id. */
export const KVM_CAP_MAX_VCPU_ID = 128
/** KVM_CHECK_EXTENSION capability: x2apic api. */
export const KVM_CAP_X2APIC_API = 129
/** KVM_CHECK_EXTENSION capability: msi devid. */
export const KVM_CAP_MSI_DEVID = 131
/** KVM_CHECK_EXTENSION capability: immediate exit. */
export const KVM_CAP_IMMEDIATE_EXIT = 136
/** KVM_CHECK_EXTENSION capability: vm tsc control. */
export const KVM_CAP_VM_TSC_CONTROL = 214

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
  KVM_GET_API_VERSION: 0xae00,
  KVM_CREATE_VM: 0xae01,
  KVM_GET_MSR_INDEX_LIST: 0xc004ae02,
  KVM_CHECK_EXTENSION: 0xae03,
  KVM_GET_VCPU_MMAP_SIZE: 0xae04,
  KVM_GET_SUPPORTED_CPUID: 0xc008ae05,
  KVM_CREATE_VCPU: 0xae41,
  KVM_SET_USER_MEMORY_REGION: 0x4020ae46,
  KVM_SET_TSS_ADDR: 0xae47,
  KVM_SET_IDENTITY_MAP_ADDR: 0x4008ae48,
  KVM_CREATE_IRQCHIP: 0xae60,
  KVM_IRQ_LINE: 0x4008ae61,
  KVM_IRQ_LINE_STATUS: 0xc008ae67,
  KVM_SET_GSI_ROUTING: 0x4008ae6a,
  KVM_IRQFD: 0x4020ae76,
  KVM_CREATE_PIT2: 0x4040ae77,
  KVM_IOEVENTFD: 0x4040ae79,
  KVM_XEN_HVM_CONFIG: 0x4038ae7a,
  KVM_SET_CLOCK: 0x4030ae7b,
  KVM_GET_CLOCK: 0x8030ae7c,
  KVM_RUN: 0xae80,
  KVM_GET_REGS: 0x8090ae81,
  KVM_SET_REGS: 0x4090ae82,
  KVM_GET_SREGS: 0x8138ae83,
  KVM_SET_SREGS: 0x4138ae84,
  KVM_INTERRUPT: 0x4004ae86,
  KVM_GET_MSRS: 0xc008ae88,
  KVM_SET_MSRS: 0x4008ae89,
  KVM_GET_FPU: 0x81a0ae8c,
  KVM_SET_FPU: 0x41a0ae8d,
  KVM_GET_LAPIC: 0x8400ae8e,
  KVM_SET_LAPIC: 0x4400ae8f,
  KVM_SET_CPUID2: 0x4008ae90,
  KVM_NMI: 0xae9a,
  KVM_GET_MP_STATE: 0x8004ae98,
  KVM_SET_MP_STATE: 0x4004ae99,
  KVM_GET_VCPU_EVENTS: 0x8040ae9f,
  KVM_SET_VCPU_EVENTS: 0x4040aea0,
  KVM_ENABLE_CAP: 0x4068aea3,
  KVM_SIGNAL_MSI: 0x4020aea5,
  KVM_SET_TSC_KHZ: 0xaea2,
  KVM_GET_TSC_KHZ: 0xaea3,
  KVM_XEN_HVM_GET_ATTR: 0xc048aec8,
  KVM_XEN_HVM_SET_ATTR: 0x4048aec9,
  KVM_XEN_VCPU_GET_ATTR: 0xc048aeca,
  KVM_XEN_VCPU_SET_ATTR: 0x4048aecb,
  KVM_XEN_HVM_EVTCHN_SEND: 0x400caed0,
} as const

// --- Struct layouts (sizeof and offsetof as gcc computes them for x86_64)

/** struct kvm_run: the area mmap'd from a vCPU fd; KVM_RUN reports each exit here. */
export const kvm_run = {
  size: 2352,
  request_interrupt_window: 0,
  immediate_exit: 1,
  exit_reason: 8,
  ready_for_interrupt_injection: 12,
  if_flag: 13,
  flags: 14,
  cr8: 16,
  apic_base: 24,
  hw: { hardware_exit_reason: 32 },
  fail_entry: { hardware_entry_failure_reason: 32, cpu: 40 },
  ex: { exception: 32, error_code: 36 },
  io: { direction: 32, size: 33, port: 34, count: 36, data_offset: 40 },
  mmio: { phys_addr: 32, data: 40, len: 48, is_write: 52 },
  internal: { suberror: 32, ndata: 36, data: 40 },
  system_event: { type: 32, ndata: 36, data: 40 },
  eoi: { vector: 32 },
  xen: { type: 32, u: { hcall: { longmode: 40, cpl: 44, input: 48, result: 56, params: 64 } } },
} as const

/** struct kvm_regs (KVM_GET_REGS / KVM_SET_REGS): 18 u64. */
export const kvm_regs = {
  size: 144,
  rax: 0,
  rbx: 8,
  rcx: 16,
  rdx: 24,
  rsi: 32,
  rdi: 40,
  rsp: 48,
  rbp: 56,
  r8: 64,
  r9: 72,
  r10: 80,
  r11: 88,
  r12: 96,
  r13: 104,
  r14: 112,
  r15: 120,
  rip: 128,
  rflags: 136,
} as const

/** struct kvm_segment: one segment register as KVM_GET_SREGS reports it. */
export const kvm_segment = {
  size: 24,
  base: 0,
  limit: 8,
  selector: 12,
  type: 14,
  present: 15,
  dpl: 16,
  db: 17,
  s: 18,
  l: 19,
  g: 20,
  avl: 21,
  unusable: 22,
  padding: 23,
} as const

/** struct kvm_dtable: GDTR / IDTR. */
export const kvm_dtable = { size: 16, base: 0, limit: 8, padding: 10 } as const

/** struct kvm_sregs (KVM_GET_SREGS / KVM_SET_SREGS). */
export const kvm_sregs = {
  size: 312,
  cs: 0,
  ds: 24,
  es: 48,
  fs: 72,
  gs: 96,
  ss: 120,
  tr: 144,
  ldt: 168,
  gdt: 192,
  idt: 208,
  cr0: 224,
  cr2: 232,
  cr3: 240,
  cr4: 248,
  cr8: 256,
  efer: 264,
  apic_base: 272,
  interrupt_bitmap: 280,
} as const

/** struct kvm_fpu (KVM_GET_FPU / KVM_SET_FPU). */
export const kvm_fpu = {
  size: 416,
  fpr: 0,
  fcw: 128,
  fsw: 130,
  ftwx: 132,
  pad1: 133,
  last_opcode: 134,
  last_ip: 136,
  last_dp: 144,
  xmm: 152,
  mxcsr: 408,
  pad2: 412,
} as const

/** struct kvm_msrs header (KVM_GET_MSRS / KVM_SET_MSRS), followed by kvm_msr_entry[nmsrs]. */
export const kvm_msrs = { size: 8, nmsrs: 0, pad: 4, entries: 8 } as const
/** struct kvm_msr_entry. */
export const kvm_msr_entry = { size: 16, index: 0, reserved: 4, data: 8 } as const
/** struct kvm_msr_list header (KVM_GET_MSR_INDEX_LIST), followed by u32 indices[nmsrs]. */
export const kvm_msr_list = { size: 4, nmsrs: 0, indices: 4 } as const
/** struct kvm_cpuid2 header (KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2), then entries[nent]. */
export const kvm_cpuid2 = { size: 8, nent: 0, padding: 4, entries: 8 } as const
/** struct kvm_cpuid_entry2. */
export const kvm_cpuid_entry2 = {
  size: 40,
  function: 0,
  index: 4,
  flags: 8,
  eax: 12,
  ebx: 16,
  ecx: 20,
  edx: 24,
  padding: 28,
} as const
/** struct kvm_lapic_state (KVM_GET_LAPIC / KVM_SET_LAPIC): the APIC register page. */
export const kvm_lapic_state = { size: 1024, regs: 0 } as const
/** struct kvm_interrupt (KVM_INTERRUPT). */
export const kvm_interrupt = { size: 4, irq: 0 } as const
/** struct kvm_irq_level (KVM_IRQ_LINE / KVM_IRQ_LINE_STATUS). */
export const kvm_irq_level = { size: 8, irq: 0, status: 0, level: 4 } as const
/** struct kvm_msi (KVM_SIGNAL_MSI). */
export const kvm_msi = {
  size: 32,
  address_lo: 0,
  address_hi: 4,
  data: 8,
  flags: 12,
  devid: 16,
  pad: 20,
} as const
/** struct kvm_irqfd (KVM_IRQFD). */
export const kvm_irqfd = { size: 32, fd: 0, gsi: 4, flags: 8, resamplefd: 12, pad: 16 } as const
/** struct kvm_ioeventfd (KVM_IOEVENTFD). */
export const kvm_ioeventfd = {
  size: 64,
  datamatch: 0,
  addr: 8,
  len: 16,
  fd: 20,
  flags: 24,
  pad: 28,
} as const
/** struct kvm_pit_config (KVM_CREATE_PIT2). */
export const kvm_pit_config = { size: 64, flags: 0, pad: 4 } as const
/** struct kvm_enable_cap (KVM_ENABLE_CAP). */
export const kvm_enable_cap = { size: 104, cap: 0, flags: 4, args: 8, pad: 40 } as const
/** struct kvm_userspace_memory_region (KVM_SET_USER_MEMORY_REGION). */
export const kvm_userspace_memory_region = {
  size: 32,
  slot: 0,
  flags: 4,
  guest_phys_addr: 8,
  memory_size: 16,
  userspace_addr: 24,
} as const
/** struct kvm_mp_state (KVM_GET_MP_STATE / KVM_SET_MP_STATE). */
export const kvm_mp_state = { size: 4, mp_state: 0 } as const
/** struct kvm_clock_data (KVM_GET_CLOCK / KVM_SET_CLOCK). */
export const kvm_clock_data = {
  size: 48,
  clock: 0,
  flags: 8,
  pad0: 12,
  realtime: 16,
  host_tsc: 24,
  pad: 32,
} as const
/** struct kvm_vcpu_events (KVM_GET_VCPU_EVENTS / KVM_SET_VCPU_EVENTS). */
export const kvm_vcpu_events = {
  size: 64,
  exception: { injected: 0, nr: 1, has_error_code: 2, pending: 3, error_code: 4 },
  interrupt: { injected: 8, nr: 9, soft: 10, shadow: 11 },
  nmi: { injected: 12, pending: 13, masked: 14, pad: 15 },
  sipi_vector: 16,
  flags: 20,
} as const
/** struct kvm_xen_hvm_config (KVM_XEN_HVM_CONFIG). */
export const kvm_xen_hvm_config = {
  size: 56,
  flags: 0,
  msr: 4,
  blob_addr_32: 8,
  blob_addr_64: 16,
  blob_size_32: 24,
  blob_size_64: 25,
  pad2: 26,
} as const
/** struct kvm_xen_hvm_attr (KVM_XEN_HVM_SET_ATTR / KVM_XEN_HVM_GET_ATTR). */
export const kvm_xen_hvm_attr = {
  size: 72,
  type: 0,
  pad: 2,
  u: {
    long_mode: 8,
    vector: 8,
    runstate_update_flag: 8,
    shared_info: { gfn: 8, hva: 8 },
    evtchn: {
      send_port: 8,
      type: 12,
      flags: 16,
      deliver: { port: { port: 20, vcpu: 24, priority: 28 }, eventfd: { port: 20, fd: 24 } },
    },
    xen_version: 8,
  },
} as const
/** struct kvm_xen_vcpu_attr (KVM_XEN_VCPU_SET_ATTR / KVM_XEN_VCPU_GET_ATTR). */
export const kvm_xen_vcpu_attr = {
  size: 72,
  type: 0,
  pad: 2,
  u: {
    gpa: 8,
    hva: 8,
    runstate: {
      state: 8,
      state_entry_time: 16,
      time_running: 24,
      time_runnable: 32,
      time_blocked: 40,
      time_offline: 48,
    },
    vcpu_id: 8,
    timer: { port: 8, priority: 12, expires_ns: 16 },
    vector: 8,
  },
} as const
