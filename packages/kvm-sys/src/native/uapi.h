/* Layouts and ioctl numbers of <linux/kvm.h>, computed by the C compiler.
 * C++ must not include <linux/kvm.h> for layout: Debian's __DECLARE_FLEX_ARRAY has no
 * __cplusplus branch, so g++ sizes struct kvm_irq_routing as 16 instead of 8. */
#ifndef KVMSYS_UAPI_H
#define KVMSYS_UAPI_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

struct kvmsys_uapi_entry {
	const char *name;
	uint64_t value;
};

/* Every constant, size and ioctl number the addon and the TS abi use, ending with {0, 0}. */
extern const struct kvmsys_uapi_entry kvmsys_uapi[];

#ifdef __cplusplus
}
#endif
#endif
