/* Layouts and ioctl numbers of <linux/kvm.h>, computed by the C compiler (uapi.c).
 * C++ must not include <linux/kvm.h> for layout: Debian's __DECLARE_FLEX_ARRAY has no
 * __cplusplus branch, so g++ sizes struct kvm_irq_routing as 16 instead of 8. Everything the
 * C++ glue needs to know about a struct goes through the table and helpers declared here. */
#ifndef KVMSYS_UAPI_H
#define KVMSYS_UAPI_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

struct kvmsys_uapi_entry {
	const char *name;
	uint64_t value;
};

/* Every constant, size and ioctl number the addon reports to JS, ending with {0, 0}. */
extern const struct kvmsys_uapi_entry kvmsys_uapi[];

/* Which file descriptor an ioctl is issued on. */
enum kvmsys_fd_kind { KVMSYS_FD_SYSTEM, KVMSYS_FD_VM, KVMSYS_FD_VCPU };

/* How an ioctl's argument is passed. */
enum kvmsys_arg_kind {
	KVMSYS_ARG_NONE,   /* ioctl(fd, nr, 0) */
	KVMSYS_ARG_VALUE,  /* ioctl(fd, nr, value) */
	KVMSYS_ARG_STRUCT, /* ioctl(fd, nr, &struct), buffer of at least `size` bytes */
	KVMSYS_ARG_ARRAY,  /* header of `size` bytes, a u32 count at `count_offset`, then entries */
};

/* Extra checks done before the ioctl, for structs that carry host addresses. */
enum kvmsys_check {
	KVMSYS_CHECK_NONE,
	KVMSYS_CHECK_XEN_HVM_ATTR, /* SHARED_INFO_HVA must point into a region of this VM */
	KVMSYS_CHECK_XEN_VCPU_ATTR, /* VCPU_INFO_HVA likewise */
	KVMSYS_CHECK_XEN_HVM_CONFIG, /* hypercall-page blobs are host pointers: refused */
};

/* One ioctl the generic path may issue. */
struct kvmsys_ioctl {
	const char *name;
	unsigned long nr;
	enum kvmsys_fd_kind fd;
	enum kvmsys_arg_kind arg;
	uint32_t size;
	uint32_t count_offset;
	uint32_t entry_size;
	enum kvmsys_check check;
};

/* The ioctl table, ending with an entry whose name is 0. */
extern const struct kvmsys_ioctl kvmsys_ioctls[];

/* Special ioctls the C++ side issues directly (they return fds or take host pointers). */
extern const unsigned long kvmsys_nr_create_vm;
extern const unsigned long kvmsys_nr_create_vcpu;
extern const unsigned long kvmsys_nr_get_vcpu_mmap_size;
extern const unsigned long kvmsys_nr_get_api_version;
extern const unsigned long kvmsys_nr_run;

/* KVM_SET_USER_MEMORY_REGION; returns the ioctl's result (-1 and errno on failure). */
int kvmsys_set_user_memory_region(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa,
				  uint64_t size, uint64_t hva);

/* If the kvm_xen_hvm_attr in buf is SHARED_INFO_HVA, store its hva and return 1; else 0. */
int kvmsys_xen_hvm_attr_hva(const void *buf, uint64_t *hva);
/* If the kvm_xen_vcpu_attr in buf is VCPU_INFO_HVA, store its hva and return 1; else 0. */
int kvmsys_xen_vcpu_attr_hva(const void *buf, uint64_t *hva);
/* Nonzero if the kvm_xen_hvm_config in buf names a hypercall-page blob (a host pointer). */
int kvmsys_xen_hvm_config_has_blob(const void *buf);

/* Turn a SHARED_INFO_HVA / VCPU_INFO_HVA off (hva 0) before the mapping behind it goes. */
int kvmsys_xen_clear_shared_info_hva(int vmfd);
int kvmsys_xen_clear_vcpu_info_hva(int vcpufd);

/* sizeof(struct shared_info) and sizeof(struct vcpu_info) as KVM maps them: a page, 64 bytes. */
extern const uint32_t kvmsys_shared_info_span;
extern const uint32_t kvmsys_vcpu_info_span;

/* kvm_run accessors for the run loop and the kick. */
uint32_t kvmsys_run_exit_reason(const void *run);
void kvmsys_run_set_immediate_exit(void *run, uint8_t value);
extern const uint32_t kvmsys_exit_intr;

#ifdef __cplusplus
}
#endif
#endif
