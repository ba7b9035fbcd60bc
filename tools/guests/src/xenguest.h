/*
 * What a Xen HVM guest sets up on each vCPU (as Linux's xen_hvm_guest_init does): find Xen through
 * CPUID, install the hypercall page, map shared_info, register a vcpu_info and an upcall vector,
 * and scan the 2-level pending bitmaps in the upcall handler.
 */
#ifndef GUEST_XENGUEST_H
#define GUEST_XENGUEST_H

#include "hypercall.h"

#define NR_PORTS (sizeof(xen_ulong_t) * 8 * sizeof(xen_ulong_t) * 8) /* 4096, or 1024 in compat */

struct xen_platform {
	uint32_t base;        /* CPUID leaf of the Xen signature */
	uint32_t max_leaf;
	uint32_t version;     /* major << 16 | minor */
	uint32_t msr;         /* hypercall page MSR */
	uint32_t hvm_flags;   /* leaf base+4 EAX */
	uint32_t tsc_khz;     /* leaf base+3 subleaf 0 ECX */
	unsigned ncpus;
};

extern struct xen_platform xen;
extern shared_info_t *volatile shinfo;
extern vcpu_info_t *volatile vcpu_info_of[MAX_CPUS];
extern char shared_info_page[PAGE_SIZE];
/* Per-port delivery record, written by the upcall handler. */
extern volatile uint32_t port_events[NR_PORTS];
extern volatile uint8_t port_last_cpu[NR_PORTS];
/* Bit c set: vCPU c's upcall handler found the port pending and unmasked in a selector word of its
 * own vcpu_info, whether or not it took the port. Only the vCPU the port is bound to may see it
 * (when no other vCPU has a port pending in the same word): the check that the VMM raised the
 * upcall on the right vCPU. The checks clear it before they start. */
extern volatile uint32_t port_seen_mask[NR_PORTS];
/* Xen system time (pvclock) when the owning vCPU's handler took the port's last event. */
extern volatile uint64_t port_fired_ns[NR_PORTS];
extern volatile uint32_t upcalls[MAX_CPUS];
/* Which vCPU each port is bound to, as the guest knows it (Linux's cpu_evtchn_mask): an upcall
 * handler takes only its own ports; PORT_CPU_UNKNOWN ports are taken by vCPU 0. */
#define PORT_CPU_UNKNOWN 0xff
extern volatile uint8_t port_bound_cpu[NR_PORTS];

/* Setup steps; each reports its own named result and returns 0 on success. */
int xen_detect(unsigned cpu);
int xen_install_hypercall_page(unsigned cpu);
int xen_map_shared_info(unsigned cpu);
int xen_register_vcpu_info(unsigned cpu);
int xen_setup_upcall(unsigned cpu);
/* The whole per-vCPU setup in order; returns 0 when every step passed. */
int xen_setup_cpu(unsigned cpu);
/* Counts vCPUs with VCPUOP_is_up (ids 0..MAX_CPUS-1). */
unsigned xen_count_cpus(void);

/* Xen system time from this vCPU's pvclock (vcpu_info.time); 0 while KVM has not filled it. */
uint64_t xen_now_ns(void);

/* EVTCHNOP wrappers: a port (>0) or a negative errno. */
long evtchn_alloc_unbound(domid_t remote);
long evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port);
long evtchn_bind_ipi(unsigned vcpu);
long evtchn_bind_virq(unsigned virq, unsigned vcpu);
long evtchn_send(evtchn_port_t port);
long evtchn_close(evtchn_port_t port);
long evtchn_unmask(evtchn_port_t port);
long evtchn_bind_vcpu(evtchn_port_t port, unsigned vcpu);
long evtchn_status(evtchn_port_t port, struct evtchn_status *st);
void evtchn_mask(evtchn_port_t port);
void evtchn_clear_mask(evtchn_port_t port);
int evtchn_is_pending(evtchn_port_t port);

/* Waits (interrupts on) until port_events[port] differs from `seen`; returns 1 if it did. */
int wait_port_event(evtchn_port_t port, uint32_t seen, unsigned ms);

/* Backend requests to the VMM (protocol.h); returns the status the VMM wrote. */
long backend_request(uint32_t op, uint32_t port, uint32_t *count, uint32_t *backend_port);

#endif
