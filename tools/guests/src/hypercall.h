/*
 * Xen hypercalls through the hypercall page KVM writes (32-byte stubs: mov $nr, %eax; vmcall or
 * vmmcall; ret). Arguments go in rdi, rsi, rdx, r10, r8 (64-bit) or ebx, ecx, edx, esi, edi (32-bit).
 */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include "common.h"

/* Xen's public ABI, the project's own copy (no system Xen headers needed; checked against them in
 * tools/guests/test/xen-abi.test.ts). */
#include "xen-abi.h"

extern char hypercall_page[PAGE_SIZE];

/* Calls stub `nr` of the hypercall page. Numbers past the page (>= 128) enter stub 0 after its
 * `mov`, with eax already holding nr: the same trap instruction, any number. */
static inline long hypercall5(unsigned nr, unsigned long a1, unsigned long a2, unsigned long a3,
			      unsigned long a4, unsigned long a5)
{
	unsigned long ret = nr;
	void *stub = nr < PAGE_SIZE / 32 ? hypercall_page + nr * 32 : hypercall_page + 5;
#ifdef __x86_64__
	register unsigned long r10 __asm__("r10") = a4;
	register unsigned long r8 __asm__("r8") = a5;
	__asm__ volatile("call *%[stub]"
			 : "+a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
			 : [stub] "c"(stub)
			 : "memory", "r9", "r11");
#else
	__asm__ volatile("call *%[stub]"
			 : "+a"(ret), "+b"(a1), "+c"(a2), "+d"(a3), "+S"(a4), "+D"(a5)
			 : [stub] "m"(stub)
			 : "memory");
#endif
	return (long)ret;
}

#define HC(nr, a1, a2) hypercall5(nr, (unsigned long)(a1), (unsigned long)(a2), 0, 0, 0)

static inline long HYPERVISOR_xen_version(int cmd, void *arg) { return HC(__HYPERVISOR_xen_version, cmd, arg); }
static inline long HYPERVISOR_memory_op(unsigned cmd, void *arg) { return HC(__HYPERVISOR_memory_op, cmd, arg); }
static inline long HYPERVISOR_hvm_op(int op, void *arg) { return HC(__HYPERVISOR_hvm_op, op, arg); }
static inline long HYPERVISOR_vcpu_op(int cmd, unsigned vcpu, void *arg)
{
	return hypercall5(__HYPERVISOR_vcpu_op, (unsigned long)cmd, vcpu, (unsigned long)arg, 0, 0);
}
static inline long HYPERVISOR_event_channel_op(int cmd, void *arg) { return HC(__HYPERVISOR_event_channel_op, cmd, arg); }
static inline long HYPERVISOR_sched_op(int cmd, void *arg) { return HC(__HYPERVISOR_sched_op, cmd, arg); }
static inline long HYPERVISOR_set_timer_op(uint64_t timeout)
{
#ifdef __x86_64__
	return HC(__HYPERVISOR_set_timer_op, timeout, 0);
#else
	/* The compat ABI splits the 64-bit timeout over ebx (low) and ecx (high). */
	return HC(__HYPERVISOR_set_timer_op, (uint32_t)timeout, (uint32_t)(timeout >> 32));
#endif
}

#endif
