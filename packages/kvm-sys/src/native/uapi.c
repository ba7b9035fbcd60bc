/* Compiled as C: the one place that reads <linux/kvm.h> for sizes, offsets and ioctl numbers. */
#include "uapi.h"
#include <linux/kvm.h>
#include <stddef.h>

_Static_assert(sizeof(struct kvm_irq_routing) == 8, "kvm_irq_routing header");
_Static_assert(offsetof(struct kvm_irq_routing, entries) == 8, "kvm_irq_routing.entries");
_Static_assert(sizeof(struct kvm_irq_routing_entry) == 48, "kvm_irq_routing_entry");

#define C(x) {#x, (uint64_t)(x)}
const struct kvmsys_uapi_entry kvmsys_uapi[] = {
	C(KVM_API_VERSION),
	C(KVM_GET_API_VERSION),
	C(KVM_CHECK_EXTENSION),
	C(KVM_SET_GSI_ROUTING),
	{"sizeof_kvm_irq_routing", sizeof(struct kvm_irq_routing)},
	{"sizeof_kvm_irq_routing_entry", sizeof(struct kvm_irq_routing_entry)},
	{0, 0},
};
