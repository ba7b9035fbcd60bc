/*
 * The part of Xen's public guest ABI (xen/include/public/, interface version 4.6 and later) that the
 * tsvmm guests use, for x86 HVM guests in both widths: -m64 (long mode) and -m32 (compat).
 *
 * The project carries its own copy so that building the guests needs nothing beyond gcc (no
 * libxen-dev). Names, values and layouts are Xen's own: the guests' sources read like any Xen guest
 * code, and tools/guests/test/xen-abi.test.ts compiles every name defined here against Xen's real
 * headers (sizeof, offsetof, values, for both widths), so a wrong number fails a test.
 * Add what a guest needs; keep to Xen's spelling.
 */
#ifndef GUEST_XEN_ABI_H
#define GUEST_XEN_ABI_H

#include <stdint.h>

/* ---- Basic types (xen.h, arch-x86/xen.h, event_channel.h): `unsigned long` is the guest's width. */
typedef unsigned long xen_ulong_t;
typedef unsigned long xen_pfn_t;
typedef uint16_t domid_t;
typedef uint32_t evtchn_port_t;

/* A guest pointer in a hypercall argument: a plain pointer of the guest's width (x86, not tools). */
#define DEFINE_XEN_GUEST_HANDLE(name) typedef struct { name *p; } __guest_handle_##name
#define XEN_GUEST_HANDLE(name) __guest_handle_##name
#define set_xen_guest_handle(hnd, val) do { (hnd).p = (val); } while (0)
DEFINE_XEN_GUEST_HANDLE(evtchn_port_t);

/* ---- Hypercall numbers (xen.h). */
#define __HYPERVISOR_memory_op 12
#define __HYPERVISOR_set_timer_op 15
#define __HYPERVISOR_xen_version 17
#define __HYPERVISOR_vcpu_op 24
#define __HYPERVISOR_sched_op 29
#define __HYPERVISOR_event_channel_op 32
#define __HYPERVISOR_hvm_op 34

#define VIRQ_TIMER 0
#define DOMID_SELF 0x7FF0U
#define XEN_LEGACY_MAX_VCPUS 32

/* ---- Xen's errno values (errno.h), which hypercalls return negated: Xen's whole table (its
 * numbers are Linux's, but this header must not depend on the C library's errno.h); EINTR and
 * ERESTART are Xen-internal, never returned to a guest. */
enum xen_errno_value {
	EPERM = 1,
	ENOENT = 2,
	ESRCH = 3,
	EIO = 5,
	ENXIO = 6,
	E2BIG = 7,
	ENOEXEC = 8,
	EBADF = 9,
	ECHILD = 10,
	EAGAIN = 11,
	EWOULDBLOCK = 11,
	ENOMEM = 12,
	EACCES = 13,
	EFAULT = 14,
	EBUSY = 16,
	EEXIST = 17,
	EXDEV = 18,
	ENODEV = 19,
	ENOTDIR = 20,
	EISDIR = 21,
	EINVAL = 22,
	ENFILE = 23,
	EMFILE = 24,
	ENOSPC = 28,
	EROFS = 30,
	EMLINK = 31,
	EDOM = 33,
	ERANGE = 34,
	EDEADLK = 35,
	EDEADLOCK = 35,
	ENAMETOOLONG = 36,
	ENOLCK = 37,
	ENOSYS = 38,
	ENOTEMPTY = 39,
	ENODATA = 61,
	ETIME = 62,
	EBADMSG = 74,
	EOVERFLOW = 75,
	EILSEQ = 84,
	ENOTSOCK = 88,
	EMSGSIZE = 90,
	EOPNOTSUPP = 95,
	EADDRINUSE = 98,
	EADDRNOTAVAIL = 99,
	ENOBUFS = 105,
	EISCONN = 106,
	ENOTCONN = 107,
	ETIMEDOUT = 110,
	ECONNREFUSED = 111,
};

/* ---- Shared info page (xen.h, arch-x86/xen.h, arch-x86/xen-x86_{32,64}.h). */
struct vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp; /* TSC at the last update */
	uint64_t system_time;   /* ns since boot at tsc_timestamp */
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad1[2];
}; /* 32 bytes */
typedef struct vcpu_time_info vcpu_time_info_t;

struct arch_vcpu_info {
	unsigned long cr2;
#ifdef __x86_64__
	unsigned long pad;
#else
	unsigned long pad[5];
#endif
};

struct vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t evtchn_upcall_mask; /* PV only: unused in HVM */
	xen_ulong_t evtchn_pending_sel;
	struct arch_vcpu_info arch;
	vcpu_time_info_t time;
}; /* 64 bytes in both widths */
typedef struct vcpu_info vcpu_info_t;

struct arch_shared_info {
	unsigned long max_pfn;
	xen_pfn_t pfn_to_mfn_frame_list_list;
	unsigned long nmi_reason;
	unsigned long p2m_cr3;
	unsigned long p2m_vaddr;
	unsigned long p2m_generation;
#ifndef __x86_64__
	uint32_t wc_sec_hi; /* no room for it in the generic part of the 32-bit layout */
#endif
};

struct shared_info {
	struct vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
	/* 2-level event channels: one bit per port, one selector bit per xen_ulong_t word. */
	xen_ulong_t evtchn_pending[sizeof(xen_ulong_t) * 8];
	xen_ulong_t evtchn_mask[sizeof(xen_ulong_t) * 8];
	uint32_t wc_version;
	uint32_t wc_sec;
	uint32_t wc_nsec;
#ifdef __x86_64__
	uint32_t wc_sec_hi;
#endif
	struct arch_shared_info arch;
};
typedef struct shared_info shared_info_t;

/* ---- Event channels (event_channel.h). */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_close 3
#define EVTCHNOP_send 4
#define EVTCHNOP_status 5
#define EVTCHNOP_alloc_unbound 6
#define EVTCHNOP_bind_ipi 7
#define EVTCHNOP_bind_vcpu 8
#define EVTCHNOP_unmask 9
#define EVTCHNOP_init_control 11

#define EVTCHNSTAT_closed 0
#define EVTCHNSTAT_unbound 1
#define EVTCHNSTAT_interdomain 2

struct evtchn_alloc_unbound {
	domid_t dom, remote_dom; /* IN */
	evtchn_port_t port;      /* OUT */
};

struct evtchn_bind_interdomain {
	domid_t remote_dom;        /* IN */
	evtchn_port_t remote_port; /* IN */
	evtchn_port_t local_port;  /* OUT */
};

struct evtchn_bind_virq {
	uint32_t virq;      /* IN */
	uint32_t vcpu;      /* IN */
	evtchn_port_t port; /* OUT */
};

struct evtchn_bind_ipi {
	uint32_t vcpu;      /* IN */
	evtchn_port_t port; /* OUT */
};

struct evtchn_close {
	evtchn_port_t port;
};

struct evtchn_send {
	evtchn_port_t port;
};

struct evtchn_status {
	domid_t dom;        /* IN */
	evtchn_port_t port; /* IN */
	uint32_t status;    /* OUT: EVTCHNSTAT_* */
	uint32_t vcpu;      /* OUT: the vCPU it is bound to */
	union {
		struct {
			domid_t dom;
		} unbound;
		struct {
			domid_t dom;
			evtchn_port_t port;
		} interdomain;
		uint32_t pirq;
		uint32_t virq;
	} u;
};

struct evtchn_bind_vcpu {
	evtchn_port_t port;
	uint32_t vcpu;
};

struct evtchn_unmask {
	evtchn_port_t port;
};

/* ---- Scheduler (sched.h). */
#define SCHEDOP_yield 0
#define SCHEDOP_block 1
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll 3
#define SCHEDOP_remote_shutdown 4

#define SHUTDOWN_poweroff 0
#define SHUTDOWN_crash 3

struct sched_shutdown {
	unsigned int reason; /* SHUTDOWN_* */
};

struct sched_poll {
	XEN_GUEST_HANDLE(evtchn_port_t) ports;
	unsigned int nr_ports;
	uint64_t timeout;
};

/* ---- vCPU operations (vcpu.h). */
#define VCPUOP_is_up 3
#define VCPUOP_set_periodic_timer 6
#define VCPUOP_stop_periodic_timer 7
#define VCPUOP_set_singleshot_timer 8
#define VCPUOP_register_vcpu_info 10

#define VCPU_SSHOTTMR_future (1U << 0)

struct vcpu_set_periodic_timer {
	uint64_t period_ns;
};

struct vcpu_set_singleshot_timer {
	uint64_t timeout_abs_ns; /* absolute system time in ns */
	uint32_t flags;          /* VCPU_SSHOTTMR_* */
};

struct vcpu_register_vcpu_info {
	uint64_t mfn;    /* frame of the page holding the vcpu_info */
	uint32_t offset; /* its offset within that page */
	uint32_t rsvd;
};

/* ---- Memory (memory.h). */
#define XENMEM_machphys_mfn_list 5
#define XENMEM_add_to_physmap 7
#define XENMAPSPACE_shared_info 0

struct xen_add_to_physmap {
	domid_t domid;
	uint16_t size;      /* gmfn_range only */
	unsigned int space; /* XENMAPSPACE_* */
	xen_ulong_t idx;
	xen_pfn_t gpfn;     /* where the page appears */
};

/* ---- HVM (hvm/hvm_op.h, hvm/params.h). */
#define HVMOP_set_param 0
#define HVMOP_set_evtchn_upcall_vector 23

struct xen_hvm_param {
	domid_t domid;
	uint16_t pad;
	uint32_t index; /* HVM_PARAM_* */
	uint64_t value;
};

struct xen_hvm_evtchn_upcall_vector {
	uint32_t vcpu;
	uint8_t vector;
};

#define HVM_PARAM_CALLBACK_IRQ 0
#define HVM_PARAM_CALLBACK_TYPE_VECTOR 2 /* in bits 63:56 of the CALLBACK_IRQ value */

/* ---- Version (version.h). */
#define XENVER_version 0
#define XENVER_pagesize 7

/* ---- CPUID leaves (arch-x86/cpuid.h). */
#define XEN_CPUID_FIRST_LEAF 0x40000000
#define XEN_CPUID_SIGNATURE_EBX 0x566e6558 /* "XenV" */
#define XEN_CPUID_SIGNATURE_ECX 0x65584d4d /* "MMXe" */
#define XEN_CPUID_SIGNATURE_EDX 0x4d4d566e /* "nVMM" */
#define XEN_HVM_CPUID_VCPU_ID_PRESENT (1u << 3) /* leaf base+4: EBX holds the vCPU id */
#define XEN_HVM_CPUID_UPCALL_VECTOR (1u << 6)   /* leaf base+4: HVMOP_set_evtchn_upcall_vector works */

#endif
