/*
 * The fuzz guest: after the normal Xen setup, every vCPU issues random hypercalls with random
 * arguments. The VMM must answer each one (any errno) without crashing or wedging. At the end vCPU 0
 * repairs what the fuzzing may have changed (shared_info placement, upcall vector, ports) and checks
 * that hypercalls and event delivery still work.
 *
 * Arguments are hostile but the fuzzer does not shoot itself: pointers go to a scratch area, outside
 * RAM, across a page edge or to address 0, never into this guest's own code and stacks.
 */
#include "xenguest.h"

/* Fuzz rounds per vCPU; the soak build (fuzz-soak) sets a larger count. */
#ifndef FUZZ_ITERATIONS
#define FUZZ_ITERATIONS 3000
#endif

static unsigned ncpus;
static volatile unsigned finished;
/* Random bytes and plausible values that hypercalls read and write. */
static uint8_t scratch[MAX_CPUS][2 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint32_t rnd(uint64_t *s, uint32_t n) { return n ? (uint32_t)(rng_next(s) >> 32) % n : 0; }

/* A hypercall number: mostly ones tsvmm implements, sometimes anything. */
static unsigned pick_hypercall(uint64_t *s)
{
	static const unsigned known[] = {
	    __HYPERVISOR_xen_version, __HYPERVISOR_memory_op, __HYPERVISOR_hvm_op,
	    __HYPERVISOR_vcpu_op,     __HYPERVISOR_event_channel_op, __HYPERVISOR_sched_op,
	    __HYPERVISOR_set_timer_op,
	};
	switch (rnd(s, 8)) {
	case 0:
		return rnd(s, 64);
	case 1:
		return (uint32_t)rng_next(s);
	default:
		return known[rnd(s, sizeof(known) / sizeof(known[0]))];
	}
}

/* A command: small numbers hit real sub-ops, the rest is noise. */
static unsigned long pick_cmd(uint64_t *s)
{
	switch (rnd(s, 6)) {
	case 0:
		return (unsigned long)rng_next(s);
	case 1:
		return rnd(s, 256);
	default:
		return rnd(s, 16);
	}
}

static unsigned long pick_pointer(uint64_t *s, uint8_t *area)
{
	switch (rnd(s, 10)) {
	case 0:
		return 0;
	case 1:
		return 0xfffff000u + rnd(s, 0x1000); /* outside RAM */
	case 2:
		return (unsigned long)(uintptr_t)(area + PAGE_SIZE - 1 - rnd(s, 8)); /* across a page edge */
	case 3:
		return (unsigned long)rng_next(s) | 0x80000000ul; /* anything, above this guest */
	default:
		return (unsigned long)(uintptr_t)(area + rnd(s, PAGE_SIZE));
	}
}

static unsigned long pick_value(uint64_t *s)
{
	switch (rnd(s, 4)) {
	case 0:
		return (unsigned long)rng_next(s);
	case 1:
		return rnd(s, 8); /* a vCPU id, a small port */
	default:
		return rnd(s, 4200); /* around the port limits */
	}
}

/* Fills the scratch area with values that look like ports, vCPUs, domids and small flags. */
static void stir(uint64_t *s, uint8_t *area)
{
	for (unsigned i = 0; i < 2 * PAGE_SIZE; i += 4) {
		uint32_t v;
		switch (rnd(s, 4)) {
		case 0:
			v = (uint32_t)rng_next(s);
			break;
		case 1:
			v = DOMID_SELF | (rnd(s, 2) << 16);
			break;
		default:
			v = rnd(s, 64);
		}
		memcpy(area + i, &v, 4);
	}
}

/*
 * Keeps the fuzzing from stopping the run or hijacking the guest's own memory. Commands are
 * compared as the hypervisor reads them: sched_op, vcpu_op and hvm_op sub-ops as Xen's int
 * (the low 32 bits), memory_op by its low 6 bits (the rest is a continuation extent).
 */
static int tame(unsigned nr, unsigned long cmd_reg, uint8_t *area, unsigned long *arg, uint64_t *s)
{
	uint32_t cmd = (uint32_t)cmd_reg;
	switch (nr) {
	case __HYPERVISOR_sched_op:
		/* shutdown and remote_shutdown end the run; block waits for an event that may never come. */
		if (cmd == SCHEDOP_shutdown || cmd == SCHEDOP_remote_shutdown || cmd == SCHEDOP_block) return 0;
		if (cmd == SCHEDOP_poll) {
			struct sched_poll *p = (struct sched_poll *)area;
			p->timeout = 1; /* already past: return at once */
			*arg = (unsigned long)(uintptr_t)p;
		}
		return 1;
	case __HYPERVISOR_memory_op:
		if ((cmd & 0x3f) == XENMEM_add_to_physmap) {
			/* shared_info may move only into the scratch page or outside RAM. */
			struct xen_add_to_physmap *x = (struct xen_add_to_physmap *)area;
			x->gpfn = rnd(s, 2) ? (xen_pfn_t)((uintptr_t)area >> 12) : (xen_pfn_t)0xfffff;
			*arg = (unsigned long)(uintptr_t)x;
		}
		return 1;
	case __HYPERVISOR_hvm_op:
		if (cmd == HVMOP_set_evtchn_upcall_vector) {
			/* Vectors 0x10-0x1f pass Xen's check but are exceptions here: keep off them. */
			struct xen_hvm_evtchn_upcall_vector *u = (struct xen_hvm_evtchn_upcall_vector *)area;
			if (u->vector >= 0x10 && u->vector < 0x20) u->vector += 0x20;
			*arg = (unsigned long)(uintptr_t)u;
		} else if (cmd == HVMOP_set_param) {
			struct xen_hvm_param *p = (struct xen_hvm_param *)area;
			uint8_t v = (uint8_t)p->value;
			if (v >= 0x10 && v < 0x20) p->value += 0x20;
			*arg = (unsigned long)(uintptr_t)p;
		}
		return 1;
	case __HYPERVISOR_vcpu_op:
		/* register_vcpu_info elsewhere is refused once registered; keep a stray one in scratch. */
		if (cmd == VCPUOP_register_vcpu_info) {
			struct vcpu_register_vcpu_info *r = (struct vcpu_register_vcpu_info *)area;
			r->mfn = (uintptr_t)area >> 12;
			r->offset &= PAGE_SIZE - 1;
			*arg = (unsigned long)(uintptr_t)r;
		}
		return 1;
	default:
		return 1;
	}
}

/*
 * The return codes Xen gives for each hypercall (xen/common and xen/arch/x86, and KVM's in-kernel
 * handlers of the same ops, which tsvmm may leave them to). A fuzz call is only answered well when
 * its result is in its op's set: the set is one table per hypercall, negative errnos listed, with
 * the non-negative results each op can return checked by `nonneg_ok`. A 0-terminated list.
 */
static const int xen_version_errnos[] = {EFAULT, ENOSYS, EINVAL, EPERM, ENOBUFS, ENODATA, 0};
/* add_to_physmap (xenmem_add_to_physmap and its checks); other sub-ops are not offered: ENOSYS. */
static const int memory_op_errnos[] = {EFAULT, ENOSYS, EINVAL, ESRCH, EOPNOTSUPP, EPERM, 0};
/* hvm_op set_param/get_param, set_evtchn_upcall_vector; the rest ENOSYS. */
static const int hvm_op_errnos[] = {EFAULT, ENOSYS, EINVAL, ESRCH, ENOENT, EPERM, 0};
/* do_vcpu_op: ENOENT for a vCPU that does not exist, ETIME for a past VCPU_SSHOTTMR_future. */
static const int vcpu_op_errnos[] = {EFAULT, ENOSYS, EINVAL, ENOENT, EEXIST, ETIME, EPERM, 0};
/* do_event_channel_op: the 2-level ops; ENOSPC/EBUSY when ports run out, ESRCH for a foreign domain. */
static const int event_channel_op_errnos[] = {EFAULT, ENOSYS, EINVAL, EEXIST, ENOENT, ESRCH,
					      EBUSY,  ENOSPC, EPERM,  EAGAIN, 0};
/* do_sched_op without shutdown and block (the fuzzer leaves those out): yield, poll, shutdown_code. */
static const int sched_op_errnos[] = {EFAULT, ENOSYS, EINVAL, ESRCH, EPERM, ENOSPC, 0};
/* do_set_timer_op never fails (a huge timeout is clamped to 100 ms). */
static const int set_timer_op_errnos[] = {0};
/* A hypercall tsvmm does not offer. */
static const int unknown_errnos[] = {ENOSYS, 0};

static const struct hypercall_rule {
	unsigned nr;
	const char *name;
	const int *errnos;
} rules[] = {
    {__HYPERVISOR_xen_version, "xen_version", xen_version_errnos},
    {__HYPERVISOR_memory_op, "memory_op", memory_op_errnos},
    {__HYPERVISOR_hvm_op, "hvm_op", hvm_op_errnos},
    {__HYPERVISOR_vcpu_op, "vcpu_op", vcpu_op_errnos},
    {__HYPERVISOR_event_channel_op, "event_channel_op", event_channel_op_errnos},
    {__HYPERVISOR_sched_op, "sched_op", sched_op_errnos},
    {__HYPERVISOR_set_timer_op, "set_timer_op", set_timer_op_errnos},
};
static const struct hypercall_rule unknown_rule = {0, "unknown hypercall", unknown_errnos};

static const struct hypercall_rule *rule_of(unsigned nr)
{
	for (unsigned i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].nr == nr) return &rules[i];
	return &unknown_rule;
}

/* Which non-negative results an op may give, sub-ops read as Xen reads them (see tame()). */
static int nonneg_ok(unsigned nr, unsigned long cmd_reg, long rc)
{
	uint32_t cmd = (uint32_t)cmd_reg;
	switch (nr) {
	case __HYPERVISOR_xen_version:
		if (cmd == XENVER_version) return rc == (long)xen.version;
		if (cmd == XENVER_pagesize) return rc == (long)PAGE_SIZE;
		return rc == 0;
	case __HYPERVISOR_vcpu_op:
		return rc == 0 || (cmd == VCPUOP_is_up && rc == 1);
	case __HYPERVISOR_memory_op:
		/* Only the reservation queries (sub-ops 0-5) return counts; tsvmm answers them ENOSYS. */
		return rc == 0 || (cmd & 0x3f) <= XENMEM_machphys_mfn_list;
	case __HYPERVISOR_hvm_op:
	case __HYPERVISOR_event_channel_op:
	case __HYPERVISOR_sched_op:
	case __HYPERVISOR_set_timer_op:
		return rc == 0;
	default:
		return 0; /* an unknown hypercall only fails */
	}
}

static int rc_allowed(unsigned nr, unsigned long cmd, long rc, const struct hypercall_rule *rule)
{
	if (rc >= 0) return nonneg_ok(nr, cmd, rc);
	for (const int *e = rule->errnos; *e; e++)
		if (rc == -*e) return 1;
	return 0;
}

#define MAX_SHOWN 8

static void fuzz(unsigned cpu, uint64_t seed)
{
	uint64_t s = seed;
	uint8_t *area = scratch[cpu];
	unsigned counts[5] = {0}; /* 0, positive, -ENOSYS, -EINVAL/-EFAULT, other negative */
	unsigned bad = 0, made = 0;
	char first_bad[64] = "";
	for (unsigned i = 0; i < FUZZ_ITERATIONS; i++) {
		if ((i & 63) == 0) stir(&s, area);
		unsigned nr = pick_hypercall(&s);
		unsigned long cmd = pick_cmd(&s);
		unsigned long a2 = pick_pointer(&s, area);
		unsigned long a3 = pick_value(&s);
		if (nr == __HYPERVISOR_vcpu_op) {
			/* vcpu_op(cmd, vcpu, arg): the pointer goes third. */
			unsigned long t = a2;
			a2 = a3;
			a3 = t;
			if (!tame(nr, cmd, area, &a3, &s)) continue;
		} else if (!tame(nr, cmd, area, &a2, &s)) {
			continue;
		}
		long rc = hypercall5(nr, cmd, a2, a3, pick_value(&s), pick_pointer(&s, area));
		made++;
		counts[rc == 0 ? 0 : rc > 0 ? 1 : rc == -ENOSYS ? 2 : (rc == -EINVAL || rc == -EFAULT) ? 3 : 4]++;
		const struct hypercall_rule *rule = rule_of(nr);
		if (!rc_allowed(nr, cmd, rc, rule)) {
			if (bad < MAX_SHOWN)
				printk("fuzz: vcpu%u %s (%u) cmd %lu returned %ld, which Xen never gives\n", cpu,
				       rule->name, nr, cmd, rc);
			if (bad == 0)
				snprintf_lite(first_bad, sizeof(first_bad), "%s cmd %lu = %ld", rule->name, cmd, rc);
			bad++;
		}
	}
	if (bad)
		report("fuzz_hypercalls", 0, bad, "%u results Xen never gives, first: %s", bad, first_bad);
	else
		report("fuzz_hypercalls", 1, made,
		       "seed 0x%lx: 0 %u, >0 %u, ENOSYS %u, EINVAL/EFAULT %u, other %u, all as Xen",
		       (unsigned long)seed, counts[0], counts[1], counts[2], counts[3], counts[4]);
}

/* Undoes what fuzzing may have moved, as a guest would after a reset, then checks delivery. */
static void check_alive(void)
{
	long v = HYPERVISOR_xen_version(XENVER_version, NULL);
	struct xen_add_to_physmap xatp = {.domid = DOMID_SELF, .space = XENMAPSPACE_shared_info,
					  .gpfn = (uintptr_t)shared_info_page >> 12};
	long rc_map = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
	long rc_vec = 0;
	for (unsigned c = 0; c < ncpus; c++) {
		struct xen_hvm_evtchn_upcall_vector u = {.vcpu = c, .vector = UPCALL_VECTOR};
		if (xen.hvm_flags & XEN_HVM_CPUID_UPCALL_VECTOR) rc_vec |= HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &u);
	}
	struct xen_hvm_param p = {.domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ,
				  .value = ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | UPCALL_VECTOR};
	long rc_cb = HYPERVISOR_hvm_op(HVMOP_set_param, &p);
	long port = evtchn_bind_ipi(0);
	int got = 0;
	long rc_send = -1;
	if (port > 0) {
		evtchn_clear_mask((evtchn_port_t)port);
		/* Drain whatever the fuzzing left pending on this vCPU before counting. */
		uint32_t seen = port_events[port];
		rc_send = evtchn_send((evtchn_port_t)port);
		got = wait_port_event((evtchn_port_t)port, seen, 5000);
	}
	report("fuzz_alive", v == (long)xen.version && rc_map == 0 && rc_vec == 0 && rc_cb == 0 && got, port,
	       "xen_version 0x%lx, remap %ld, vectors %ld/%ld, fresh IPI port %ld send %ld %s", v, rc_map, rc_vec,
	       rc_cb, port, rc_send, got ? "delivered" : "LOST");
}

void guest_main(unsigned cpu)
{
	if (cpu == 0) printk("tsvmm fuzz guest (%u-bit)\n", (unsigned)(sizeof(long) * 8));
	if (xen_setup_cpu(cpu)) {
		if (cpu == 0) guest_exit(SHUTDOWN_crash);
		for (;;) safe_halt();
	}
	ncpus = xen_count_cpus();
	uint64_t seed = rdtsc() ^ ((uint64_t)(cpu + 1) * 0x9e3779b97f4a7c15ull);
	if (!seed) seed = 1;
	cpu_barrier(ncpus);
	fuzz(cpu, seed);
	__atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
	if (cpu != 0) {
		for (;;) safe_halt();
	}
	uint64_t deadline = deadline_ms(60000);
	while (finished < ncpus && time_before_deadline(deadline)) cpu_relax();
	report("fuzz_all_vcpus", finished == ncpus, finished, "%u of %u vCPUs finished fuzzing", finished, ncpus);
	check_alive();
	printk("fuzz guest done\n");
	guest_exit(SHUTDOWN_poweroff);
}
