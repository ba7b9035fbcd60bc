/*
 * C baseline for @tsvmm/xen-evtchn's setPending benchmark: the 2-level set_pending algorithm of
 * Xen's evtchn_2l_set_pending / the kernel's kvm_xen_set_evtchn_fast with GCC atomic builtins on
 * 64-bit words (what Xen and KVM use), on the same workload as bench/set-pending.bench.mjs:
 *
 *   64-bit guest, shared_info at a page, 4 vCPUs with vcpu_info at shinfo + 64 * N;
 *   every 16th port masked; each round delivers ports 1..4095 to vCPU (port & 3), then the
 *   "guest" consumes everything (pending words, selectors, upcall_pending cleared).
 *
 * Usage: set_pending <rounds> [rmw|load-first]. "rmw" (default) is the kernel's algorithm: a
 * test-and-set on the selector and upcall_pending every time. "load-first" is the variant the JS
 * engine runs: a plain atomic load first, the RMW only if the bit is clear (the same linearisation).
 * Prints one JSON line: calls, ns (process CPU time), checksum (sum of return codes plus
 * notifications; the JS run must print the same checksum).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PORTS 4096
#define VCPUS 4
#define EINVAL 22
#define ENOTCONN 107

struct vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t evtchn_upcall_mask;
	uint8_t pad[6];
	uint64_t evtchn_pending_sel;
	uint8_t rest[48];
};

struct shared_info {
	struct vcpu_info vcpu_info[32];
	uint64_t evtchn_pending[64];
	uint64_t evtchn_mask[64];
	uint8_t rest[0x1000 - 0xc00];
};

_Static_assert(sizeof(struct vcpu_info) == 64, "vcpu_info is 64 bytes");
_Static_assert(__builtin_offsetof(struct shared_info, evtchn_pending) == 0x800, "pending at 0x800");
_Static_assert(__builtin_offsetof(struct shared_info, evtchn_mask) == 0xa00, "mask at 0xa00");

static struct shared_info shinfo __attribute__((aligned(4096)));
static struct vcpu_info *vcpu_info[VCPUS];
static uint64_t notifications;

/* The VMM's notify callback: not inlined, as the JS engine's is a call too. */
static void __attribute__((noinline)) notify(unsigned vcpu)
{
	notifications += vcpu + 1;
}

static int load_first;

static int __attribute__((noinline)) set_pending(unsigned port, unsigned vcpu)
{
	if (port == 0 || port >= PORTS || vcpu >= VCPUS)
		return -EINVAL;
	uint64_t bit = 1ULL << (port & 63);
	unsigned word = port >> 6;
	if (__atomic_fetch_or(&shinfo.evtchn_pending[word], bit, __ATOMIC_SEQ_CST) & bit)
		return 0;
	if (__atomic_load_n(&shinfo.evtchn_mask[word], __ATOMIC_SEQ_CST) & bit)
		return -ENOTCONN;
	struct vcpu_info *vi = vcpu_info[vcpu];
	uint64_t sbit = 1ULL << word;
	if (load_first) {
		if ((__atomic_load_n(&vi->evtchn_pending_sel, __ATOMIC_SEQ_CST) & sbit) ||
		    (__atomic_fetch_or(&vi->evtchn_pending_sel, sbit, __ATOMIC_SEQ_CST) & sbit))
			return 1;
		if ((__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST) & 1) ||
		    (__atomic_fetch_or(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST) & 1))
			return 1;
		notify(vcpu);
		return 1;
	}
	if (__atomic_fetch_or(&vi->evtchn_pending_sel, sbit, __ATOMIC_SEQ_CST) & sbit)
		return 1;
	if (!(__atomic_fetch_or(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST) & 1))
		notify(vcpu);
	return 1;
}

static void consume(void)
{
	memset(shinfo.evtchn_pending, 0, sizeof(shinfo.evtchn_pending));
	for (int v = 0; v < VCPUS; v++) {
		vcpu_info[v]->evtchn_upcall_pending = 0;
		vcpu_info[v]->evtchn_pending_sel = 0;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 10000;
	load_first = argc > 2 && strcmp(argv[2], "load-first") == 0;
	for (int v = 0; v < VCPUS; v++)
		vcpu_info[v] = &shinfo.vcpu_info[v];
	for (unsigned p = 0; p < PORTS; p += 16)
		shinfo.evtchn_mask[p >> 6] |= 1ULL << (p & 63);

	long long checksum = 0;
	struct timespec t0, t1;
	/* CPU time, not wall time: on a shared machine the wall clock also counts the time other
	 * processes ran; the JS side measures its process CPU time the same way. */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (long r = 0; r < rounds; r++) {
		for (unsigned port = 1; port < PORTS; port++)
			checksum += set_pending(port, port & 3);
		consume();
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	printf("{\"calls\":%lld,\"ns\":%lld,\"checksum\":%lld}\n", (long long)rounds * (PORTS - 1), ns,
	       checksum + (long long)notifications);
	return 0;
}
