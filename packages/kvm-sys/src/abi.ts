// The KVM userspace ABI (x86_64) as plain TypeScript: constants, struct sizes and offsets.
// Pure: loads no native code. test/abi.test.ts checks every value against C compiled
// with the installed <linux/kvm.h>.

/** KVM_GET_API_VERSION's one stable answer. */
export const KVM_API_VERSION = 12

// --- GSI routing (struct kvm_irq_routing / kvm_irq_routing_entry)
export const KVM_IRQ_ROUTING_IRQCHIP = 1
export const KVM_IRQ_ROUTING_MSI = 2
export const KVM_IRQ_ROUTING_S390_ADAPTER = 3
export const KVM_IRQ_ROUTING_HV_SINT = 4
export const KVM_IRQ_ROUTING_XEN_EVTCHN = 5
/** The only priority KVM accepts on a XEN_EVTCHN route: (__u32)-1. */
export const KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL = 0xffffffff
export const KVM_MSI_VALID_DEVID = 1
export const KVM_IRQCHIP_PIC_MASTER = 0
export const KVM_IRQCHIP_PIC_SLAVE = 1
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
export const KVM_XEN_HVM_CONFIG_HYPERCALL_MSR = 1 << 0
export const KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL = 1 << 1
export const KVM_XEN_HVM_CONFIG_SHARED_INFO = 1 << 2
export const KVM_XEN_HVM_CONFIG_RUNSTATE = 1 << 3
export const KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL = 1 << 4
export const KVM_XEN_HVM_CONFIG_EVTCHN_SEND = 1 << 5
export const KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG = 1 << 6
export const KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE = 1 << 7
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
export const KVM_XEN_ATTR_TYPE_LONG_MODE = 0
export const KVM_XEN_ATTR_TYPE_SHARED_INFO = 1
export const KVM_XEN_ATTR_TYPE_UPCALL_VECTOR = 2
export const KVM_XEN_ATTR_TYPE_EVTCHN = 3
export const KVM_XEN_ATTR_TYPE_XEN_VERSION = 4
export const KVM_XEN_ATTR_TYPE_RUNSTATE_UPDATE_FLAG = 5
export const KVM_XEN_ATTR_TYPE_SHARED_INFO_HVA = 6
// Xen vCPU attributes (KVM_XEN_VCPU_SET_ATTR / GET_ATTR)
export const KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO = 0
export const KVM_XEN_VCPU_ATTR_TYPE_VCPU_TIME_INFO = 1
export const KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADDR = 2
export const KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_CURRENT = 3
export const KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_DATA = 4
export const KVM_XEN_VCPU_ATTR_TYPE_RUNSTATE_ADJUST = 5
export const KVM_XEN_VCPU_ATTR_TYPE_VCPU_ID = 6
export const KVM_XEN_VCPU_ATTR_TYPE_TIMER = 7
export const KVM_XEN_VCPU_ATTR_TYPE_UPCALL_VECTOR = 8
export const KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO_HVA = 9
/** KVM_XEN_ATTR_TYPE_EVTCHN flags: mutually exclusive, not a bitmask. */
export const KVM_XEN_EVTCHN_DEASSIGN = 1
export const KVM_XEN_EVTCHN_UPDATE = 2
export const KVM_XEN_EVTCHN_RESET = 4
/** KVM_XEN_INVALID_GFN and KVM_XEN_INVALID_GPA: (u64)-1. */
export const KVM_XEN_INVALID_GFN = 0xffff_ffff_ffff_ffffn
export const KVM_XEN_INVALID_GPA = 0xffff_ffff_ffff_ffffn
export const KVM_XEN_MSR_MIN_INDEX = 0x40000000
export const KVM_XEN_MSR_MAX_INDEX = 0x4fffffff

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
export const KVM_CAP_IRQCHIP = 0
export const KVM_CAP_HLT = 1
export const KVM_CAP_USER_MEMORY = 3
export const KVM_CAP_SET_TSS_ADDR = 4
export const KVM_CAP_EXT_CPUID = 7
export const KVM_CAP_NR_VCPUS = 9
export const KVM_CAP_NR_MEMSLOTS = 10
export const KVM_CAP_PIT = 11
export const KVM_CAP_IRQ_ROUTING = 25
export const KVM_CAP_IRQ_INJECT_STATUS = 26
export const KVM_CAP_IRQFD = 32
export const KVM_CAP_PIT2 = 33
export const KVM_CAP_SET_IDENTITY_MAP_ADDR = 37
export const KVM_CAP_XEN_HVM = 38
export const KVM_CAP_IOEVENTFD = 36
export const KVM_CAP_TSC_CONTROL = 60
export const KVM_CAP_GET_TSC_KHZ = 61
export const KVM_CAP_MAX_VCPUS = 66
export const KVM_CAP_SIGNAL_MSI = 77
export const KVM_CAP_IRQFD_RESAMPLE = 82
export const KVM_CAP_IMMEDIATE_EXIT = 136
export const KVM_CAP_MSI_DEVID = 131
export const KVM_CAP_SPLIT_IRQCHIP = 121
export const KVM_CAP_X2APIC_API = 129

// --- Exit reasons (struct kvm_run.exit_reason)
export const KVM_EXIT_UNKNOWN = 0
export const KVM_EXIT_EXCEPTION = 1
export const KVM_EXIT_IO = 2
export const KVM_EXIT_HYPERCALL = 3
export const KVM_EXIT_DEBUG = 4
export const KVM_EXIT_HLT = 5
export const KVM_EXIT_MMIO = 6
export const KVM_EXIT_IRQ_WINDOW_OPEN = 7
export const KVM_EXIT_SHUTDOWN = 8
export const KVM_EXIT_FAIL_ENTRY = 9
export const KVM_EXIT_INTR = 10
export const KVM_EXIT_INTERNAL_ERROR = 17
export const KVM_EXIT_SYSTEM_EVENT = 24
export const KVM_EXIT_XEN = 34
export const KVM_EXIT_XEN_HCALL = 1
export const KVM_EXIT_IO_IN = 0
export const KVM_EXIT_IO_OUT = 1
