/* Compiled as C: the one place that reads <linux/kvm.h> for sizes, offsets and ioctl numbers. */
#include "uapi.h"
#include <linux/kvm.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

/* Newer than Debian 12's linux-libc-dev 6.1 header; values from the kernel's uapi header. */
#ifndef KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG
#define KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG (1 << 6)
#endif
#ifndef KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE
#define KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE (1 << 7)
#endif
#ifndef KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA
#define KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA (1 << 8)
#endif
#ifndef KVM_XEN_ATTR_TYPE_RUNSTATE_UPDATE_FLAG
#define KVM_XEN_ATTR_TYPE_RUNSTATE_UPDATE_FLAG 0x5
#endif
#ifndef KVM_XEN_ATTR_TYPE_SHARED_INFO_HVA
#define KVM_XEN_ATTR_TYPE_SHARED_INFO_HVA 0x6
#endif
#ifndef KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO_HVA
#define KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO_HVA 0x9
#endif

/* The layout facts the rest of the addon (and rust-vmm's kvm-bindings) rely on. */
_Static_assert(sizeof(struct kvm_irq_routing) == 8, "kvm_irq_routing header");
_Static_assert(offsetof(struct kvm_irq_routing, entries) == 8, "kvm_irq_routing.entries");
_Static_assert(sizeof(struct kvm_irq_routing_entry) == 48, "kvm_irq_routing_entry");
_Static_assert(offsetof(struct kvm_irq_routing_entry, u) == 16, "kvm_irq_routing_entry.u");
_Static_assert(sizeof(struct kvm_irq_routing_xen_evtchn) == 12, "kvm_irq_routing_xen_evtchn");
_Static_assert(sizeof(struct kvm_msrs) == 8, "kvm_msrs header");
_Static_assert(sizeof(struct kvm_msr_entry) == 16, "kvm_msr_entry");
_Static_assert(sizeof(struct kvm_cpuid2) == 8, "kvm_cpuid2 header");
_Static_assert(sizeof(struct kvm_cpuid_entry2) == 40, "kvm_cpuid_entry2");
_Static_assert(sizeof(struct kvm_msr_list) == 4, "kvm_msr_list header");
_Static_assert(sizeof(struct kvm_regs) == 144, "kvm_regs");
_Static_assert(sizeof(struct kvm_sregs) == 312, "kvm_sregs");
_Static_assert(sizeof(struct kvm_fpu) == 416, "kvm_fpu");
_Static_assert(sizeof(struct kvm_lapic_state) == 1024, "kvm_lapic_state");
_Static_assert(sizeof(struct kvm_irqfd) == 32, "kvm_irqfd");
_Static_assert(sizeof(struct kvm_ioeventfd) == 64, "kvm_ioeventfd");
_Static_assert(sizeof(struct kvm_msi) == 32, "kvm_msi");
_Static_assert(sizeof(struct kvm_xen_hvm_config) == 56, "kvm_xen_hvm_config");
_Static_assert(sizeof(struct kvm_xen_hvm_attr) == 72, "kvm_xen_hvm_attr");
_Static_assert(sizeof(struct kvm_xen_vcpu_attr) == 72, "kvm_xen_vcpu_attr");
_Static_assert(offsetof(struct kvm_xen_hvm_attr, u) == 8, "kvm_xen_hvm_attr.u");
_Static_assert(offsetof(struct kvm_xen_vcpu_attr, u) == 8, "kvm_xen_vcpu_attr.u");
/* shared_info.hva and vcpu_attr.hva (newer headers) share the union slot of gfn and gpa. */
_Static_assert(offsetof(struct kvm_xen_hvm_attr, u.shared_info.gfn) == 8, "shared_info.gfn");
_Static_assert(offsetof(struct kvm_xen_vcpu_attr, u.gpa) == 8, "vcpu_attr.gpa");
_Static_assert(offsetof(struct kvm_run, immediate_exit) == 1, "kvm_run.immediate_exit");
_Static_assert(offsetof(struct kvm_run, exit_reason) == 8, "kvm_run.exit_reason");
_Static_assert(sizeof(struct kvm_userspace_memory_region) == 32, "kvm_userspace_memory_region");

#define C(x) {#x, (uint64_t)(x)}
#define SIZE(s) {"sizeof_" #s, sizeof(struct s)}
const struct kvmsys_uapi_entry kvmsys_uapi[] = {
	C(KVM_API_VERSION),
	C(KVM_GET_API_VERSION),
	C(KVM_CHECK_EXTENSION),
	C(KVM_SET_GSI_ROUTING),
	C(KVM_RUN),
	C(KVM_CREATE_VM),
	C(KVM_CREATE_VCPU),
	C(KVM_SET_USER_MEMORY_REGION),
	C(KVM_XEN_HVM_CONFIG),
	C(KVM_XEN_HVM_SET_ATTR),
	C(KVM_XEN_VCPU_SET_ATTR),
	C(KVM_XEN_HVM_EVTCHN_SEND),
	SIZE(kvm_irq_routing),
	SIZE(kvm_irq_routing_entry),
	SIZE(kvm_run),
	SIZE(kvm_regs),
	SIZE(kvm_sregs),
	SIZE(kvm_xen_hvm_attr),
	SIZE(kvm_xen_vcpu_attr),
	{0, 0},
};

#define IO_NONE(n, fdk) {#n, n, fdk, KVMSYS_ARG_NONE, 0, 0, 0, KVMSYS_CHECK_NONE}
#define IO_VALUE(n, fdk) {#n, n, fdk, KVMSYS_ARG_VALUE, 0, 0, 0, KVMSYS_CHECK_NONE}
#define IO_STRUCT(n, fdk, s) {#n, n, fdk, KVMSYS_ARG_STRUCT, sizeof(s), 0, 0, KVMSYS_CHECK_NONE}
#define IO_CHECKED(n, fdk, s, chk) {#n, n, fdk, KVMSYS_ARG_STRUCT, sizeof(s), 0, 0, chk}
#define IO_ARRAY(n, fdk, s, count, entry)                                                       \
	{#n, n, fdk, KVMSYS_ARG_ARRAY, sizeof(struct s), offsetof(struct s, count), sizeof(entry), \
	 KVMSYS_CHECK_NONE}

const struct kvmsys_ioctl kvmsys_ioctls[] = {
	/* system */
	IO_NONE(KVM_GET_API_VERSION, KVMSYS_FD_SYSTEM),
	IO_VALUE(KVM_CHECK_EXTENSION, KVMSYS_FD_SYSTEM),
	IO_NONE(KVM_GET_VCPU_MMAP_SIZE, KVMSYS_FD_SYSTEM),
	IO_ARRAY(KVM_GET_SUPPORTED_CPUID, KVMSYS_FD_SYSTEM, kvm_cpuid2, nent, struct kvm_cpuid_entry2),
	IO_ARRAY(KVM_GET_MSR_INDEX_LIST, KVMSYS_FD_SYSTEM, kvm_msr_list, nmsrs, __u32),
	/* VM */
	IO_VALUE(KVM_CHECK_EXTENSION, KVMSYS_FD_VM),
	IO_NONE(KVM_CREATE_IRQCHIP, KVMSYS_FD_VM),
	IO_STRUCT(KVM_CREATE_PIT2, KVMSYS_FD_VM, struct kvm_pit_config),
	IO_STRUCT(KVM_ENABLE_CAP, KVMSYS_FD_VM, struct kvm_enable_cap),
	IO_ARRAY(KVM_SET_GSI_ROUTING, KVMSYS_FD_VM, kvm_irq_routing, nr, struct kvm_irq_routing_entry),
	IO_STRUCT(KVM_IRQ_LINE, KVMSYS_FD_VM, struct kvm_irq_level),
	IO_STRUCT(KVM_IRQ_LINE_STATUS, KVMSYS_FD_VM, struct kvm_irq_level),
	IO_STRUCT(KVM_SIGNAL_MSI, KVMSYS_FD_VM, struct kvm_msi),
	IO_STRUCT(KVM_IRQFD, KVMSYS_FD_VM, struct kvm_irqfd),
	IO_STRUCT(KVM_IOEVENTFD, KVMSYS_FD_VM, struct kvm_ioeventfd),
	IO_VALUE(KVM_SET_TSS_ADDR, KVMSYS_FD_VM),
	IO_STRUCT(KVM_SET_IDENTITY_MAP_ADDR, KVMSYS_FD_VM, __u64),
	IO_VALUE(KVM_SET_TSC_KHZ, KVMSYS_FD_VM),
	IO_NONE(KVM_GET_TSC_KHZ, KVMSYS_FD_VM),
	IO_STRUCT(KVM_GET_CLOCK, KVMSYS_FD_VM, struct kvm_clock_data),
	IO_STRUCT(KVM_SET_CLOCK, KVMSYS_FD_VM, struct kvm_clock_data),
	IO_CHECKED(KVM_XEN_HVM_CONFIG, KVMSYS_FD_VM, struct kvm_xen_hvm_config,
		   KVMSYS_CHECK_XEN_HVM_CONFIG),
	IO_STRUCT(KVM_XEN_HVM_GET_ATTR, KVMSYS_FD_VM, struct kvm_xen_hvm_attr),
	IO_CHECKED(KVM_XEN_HVM_SET_ATTR, KVMSYS_FD_VM, struct kvm_xen_hvm_attr,
		   KVMSYS_CHECK_XEN_HVM_ATTR),
	IO_STRUCT(KVM_XEN_HVM_EVTCHN_SEND, KVMSYS_FD_VM, struct kvm_irq_routing_xen_evtchn),
	/* vCPU */
	IO_STRUCT(KVM_GET_REGS, KVMSYS_FD_VCPU, struct kvm_regs),
	IO_STRUCT(KVM_SET_REGS, KVMSYS_FD_VCPU, struct kvm_regs),
	IO_STRUCT(KVM_GET_SREGS, KVMSYS_FD_VCPU, struct kvm_sregs),
	IO_STRUCT(KVM_SET_SREGS, KVMSYS_FD_VCPU, struct kvm_sregs),
	IO_STRUCT(KVM_GET_FPU, KVMSYS_FD_VCPU, struct kvm_fpu),
	IO_STRUCT(KVM_SET_FPU, KVMSYS_FD_VCPU, struct kvm_fpu),
	IO_ARRAY(KVM_GET_MSRS, KVMSYS_FD_VCPU, kvm_msrs, nmsrs, struct kvm_msr_entry),
	IO_ARRAY(KVM_SET_MSRS, KVMSYS_FD_VCPU, kvm_msrs, nmsrs, struct kvm_msr_entry),
	IO_ARRAY(KVM_SET_CPUID2, KVMSYS_FD_VCPU, kvm_cpuid2, nent, struct kvm_cpuid_entry2),
	IO_STRUCT(KVM_GET_LAPIC, KVMSYS_FD_VCPU, struct kvm_lapic_state),
	IO_STRUCT(KVM_SET_LAPIC, KVMSYS_FD_VCPU, struct kvm_lapic_state),
	IO_STRUCT(KVM_INTERRUPT, KVMSYS_FD_VCPU, struct kvm_interrupt),
	IO_NONE(KVM_NMI, KVMSYS_FD_VCPU),
	IO_STRUCT(KVM_GET_MP_STATE, KVMSYS_FD_VCPU, struct kvm_mp_state),
	IO_STRUCT(KVM_SET_MP_STATE, KVMSYS_FD_VCPU, struct kvm_mp_state),
	IO_STRUCT(KVM_GET_VCPU_EVENTS, KVMSYS_FD_VCPU, struct kvm_vcpu_events),
	IO_STRUCT(KVM_SET_VCPU_EVENTS, KVMSYS_FD_VCPU, struct kvm_vcpu_events),
	IO_VALUE(KVM_SET_TSC_KHZ, KVMSYS_FD_VCPU),
	IO_NONE(KVM_GET_TSC_KHZ, KVMSYS_FD_VCPU),
	IO_VALUE(KVM_CHECK_EXTENSION, KVMSYS_FD_VCPU),
	IO_STRUCT(KVM_XEN_VCPU_GET_ATTR, KVMSYS_FD_VCPU, struct kvm_xen_vcpu_attr),
	IO_CHECKED(KVM_XEN_VCPU_SET_ATTR, KVMSYS_FD_VCPU, struct kvm_xen_vcpu_attr,
		   KVMSYS_CHECK_XEN_VCPU_ATTR),
	{0, 0, 0, 0, 0, 0, 0, 0},
};

const unsigned long kvmsys_nr_create_vm = KVM_CREATE_VM;
const unsigned long kvmsys_nr_create_vcpu = KVM_CREATE_VCPU;
const unsigned long kvmsys_nr_get_vcpu_mmap_size = KVM_GET_VCPU_MMAP_SIZE;
const unsigned long kvmsys_nr_get_api_version = KVM_GET_API_VERSION;
const unsigned long kvmsys_nr_run = KVM_RUN;

int kvmsys_set_user_memory_region(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa,
				  uint64_t size, uint64_t hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};
	return ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &r);
}

int kvmsys_xen_hvm_attr_hva(const void *buf, uint64_t *hva)
{
	struct kvm_xen_hvm_attr a;
	memcpy(&a, buf, sizeof(a));
	if (a.type != KVM_XEN_ATTR_TYPE_SHARED_INFO_HVA)
		return 0;
	*hva = a.u.shared_info.gfn; /* the hva member of newer headers; same union slot */
	return 1;
}

int kvmsys_xen_vcpu_attr_hva(const void *buf, uint64_t *hva)
{
	struct kvm_xen_vcpu_attr a;
	memcpy(&a, buf, sizeof(a));
	if (a.type != KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO_HVA)
		return 0;
	*hva = a.u.gpa; /* the hva member of newer headers; same union slot */
	return 1;
}

int kvmsys_xen_hvm_config_has_blob(const void *buf)
{
	struct kvm_xen_hvm_config c;
	memcpy(&c, buf, sizeof(c));
	return c.blob_addr_32 || c.blob_addr_64 || c.blob_size_32 || c.blob_size_64;
}

int kvmsys_xen_clear_shared_info_hva(int vmfd)
{
	struct kvm_xen_hvm_attr a;
	memset(&a, 0, sizeof(a));
	a.type = KVM_XEN_ATTR_TYPE_SHARED_INFO_HVA;
	return ioctl(vmfd, KVM_XEN_HVM_SET_ATTR, &a);
}

int kvmsys_xen_clear_vcpu_info_hva(int vcpufd)
{
	struct kvm_xen_vcpu_attr a;
	memset(&a, 0, sizeof(a));
	a.type = KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO_HVA;
	return ioctl(vcpufd, KVM_XEN_VCPU_SET_ATTR, &a);
}

/* KVM maps shared_info as a whole page and vcpu_info as 64 bytes that may not cross a page. */
const uint32_t kvmsys_shared_info_span = 4096;
const uint32_t kvmsys_vcpu_info_span = 64;

uint32_t kvmsys_run_exit_reason(const void *run)
{
	return ((const struct kvm_run *)run)->exit_reason;
}

void kvmsys_run_set_immediate_exit(void *run, uint8_t value)
{
	__atomic_store_n(&((struct kvm_run *)run)->immediate_exit, value, __ATOMIC_SEQ_CST);
}

const uint32_t kvmsys_exit_intr = KVM_EXIT_INTR;
