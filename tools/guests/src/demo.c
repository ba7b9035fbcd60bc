/*
 * The demo guest: sets Xen up on every vCPU, then checks event channels end to end, each check a
 * named result sent to the VMM (protocol.h). vCPU 0 powers the VM off when every check has run.
 */
#include "xenguest.h"

#define WAIT_MS 5000
/* Timers are armed this far ahead, so that one firing at once is told apart from one on time. */
#define TIMER_DELAY_NS 50000000ull
/* How early a timer may seem to fire: the VMM's clock and this vCPU's pvclock may disagree by a
 * few microseconds (both are kvmclock, read at different moments). */
#define EARLY_TOLERANCE_NS 1000000ull
#define PERIOD_NS 10000000ull
#define PERIODIC_TICKS 5

static unsigned ncpus;
static volatile long ipi_port[MAX_CPUS];
static volatile long timer_port[MAX_CPUS];
static volatile int all_done;
static volatile unsigned bind_turn;

/* at - deadline in microseconds, signed (no 64-bit division in the 32-bit build but udiv64). */
static long delta_us(uint64_t at, uint64_t deadline)
{
	return at >= deadline ? (long)udiv64(at - deadline, 1000, NULL) : -(long)udiv64(deadline - at, 1000, NULL);
}

/*
 * Binds this vCPU's IPI and VIRQ_TIMER ports in selector word `cpu` of its own (ports 1-2, 65-66
 * on 64-bit; 33-34 for vCPU 1 in the 32-bit compat layout). With each vCPU's ports in a word no
 * other vCPU uses, an upcall raised on the wrong vCPU shows: that vCPU's handler sees the port.
 * vCPUs bind in turn; free ports below the word are held by unbound fillers, closed afterwards.
 */
static void bind_own_ports(unsigned cpu)
{
	static long fillers[MAX_CPUS * 64];
	unsigned first = cpu * (unsigned)BITS_PER_LONG + (cpu == 0 ? 1 : 0);
	unsigned n = 0;
	long p;
	while (bind_turn != cpu) cpu_relax();
	while ((p = evtchn_alloc_unbound(DOMID_SELF)) > 0 && (unsigned long)p < first &&
	       n < sizeof(fillers) / sizeof(fillers[0]))
		fillers[n++] = p;
	if (p > 0) evtchn_close((evtchn_port_t)p);
	ipi_port[cpu] = evtchn_bind_ipi(cpu);
	timer_port[cpu] = evtchn_bind_virq(VIRQ_TIMER, cpu);
	for (unsigned i = 0; i < n; i++) evtchn_close((evtchn_port_t)fillers[i]);
	__atomic_store_n(&bind_turn, cpu + 1, __ATOMIC_SEQ_CST);
}

/* Every vCPU: an IPI ring. vCPU i sends to vCPU i+1's IPI port and waits for vCPU i-1's event. */
/* `seen` is this vCPU's IPI count from before the barrier: the previous vCPU may send at once. */
static void check_ipi(unsigned cpu, uint32_t seen)
{
	unsigned next = (cpu + 1) % ncpus;
	evtchn_port_t mine = (evtchn_port_t)ipi_port[cpu];
	long rc = evtchn_send((evtchn_port_t)ipi_port[next]);
	int got = wait_port_event(mine, seen, WAIT_MS);
	uint32_t saw = port_seen_mask[mine];
	report("ipi", rc == 0 && got && saw == 1u << cpu, rc,
	       "sent to vcpu%u port %ld (rc %ld); own port %u %s, seen pending by vcpus 0x%x", next,
	       ipi_port[next], rc, mine, got ? "fired" : "never fired", saw);
}

/* Arms a timer with `arm(deadline)` and waits for VIRQ_TIMER on `port`; 1 when it fired on this
 * vCPU only and not before the deadline. */
struct timer_shot {
	uint64_t now, deadline, fired;
	long rc;
	int got;
	uint32_t saw;
};

static int timer_on_time(struct timer_shot *t, unsigned cpu)
{
	return t->now != 0 && t->rc == 0 && t->got && t->saw == 1u << cpu &&
	       t->fired + EARLY_TOLERANCE_NS >= t->deadline;
}

/* Every vCPU: VIRQ_TIMER through VCPUOP_set_singleshot_timer, delivered to this vCPU on time.
 * Without a pvclock (now = 0) the check fails: the deadline would mean nothing. */
static void check_virq_timer(unsigned cpu)
{
	evtchn_port_t port = (evtchn_port_t)timer_port[cpu];
	struct timer_shot t = {.now = xen_now_ns()};
	uint32_t seen = port_events[port];
	port_seen_mask[port] = 0;
	t.deadline = t.now + TIMER_DELAY_NS;
	struct vcpu_set_singleshot_timer st = {.timeout_abs_ns = t.deadline, .flags = 0};
	t.rc = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, cpu, &st);
	t.got = wait_port_event(port, seen, WAIT_MS);
	t.fired = port_fired_ns[port];
	t.saw = port_seen_mask[port];
	report("virq_timer", timer_on_time(&t, cpu), t.rc,
	       "port %u: rc %ld, %s on vcpus 0x%x, %ld us after the deadline; pvclock %s", port, t.rc,
	       t.got ? "fired" : "never fired", t.saw, delta_us(t.fired, t.deadline), t.now ? "ok" : "MISSING");
}

/* The old single-shot interface: set_timer_op(absolute deadline) raises VIRQ_TIMER, on time. */
static void check_set_timer_op(void)
{
	evtchn_port_t port = (evtchn_port_t)timer_port[0];
	struct timer_shot t = {.now = xen_now_ns()};
	uint32_t seen = port_events[port];
	port_seen_mask[port] = 0;
	t.deadline = t.now + TIMER_DELAY_NS;
	t.rc = HYPERVISOR_set_timer_op(t.deadline);
	t.got = wait_port_event(port, seen, WAIT_MS);
	t.fired = port_fired_ns[port];
	t.saw = port_seen_mask[port];
	report("set_timer_op", timer_on_time(&t, 0), t.rc, "rc %ld, VIRQ_TIMER %s %ld us after the deadline; pvclock %s",
	       t.rc, t.got ? "fired" : "never fired", delta_us(t.fired, t.deadline), t.now ? "ok" : "MISSING");
}

/*
 * VCPUOP_set_periodic_timer: ticks come no faster than the period. Tick k (counted from 0 as this
 * vCPU sees them) cannot come before set + k * period, whether the first tick comes at once (Xen)
 * or after a period, and whether late ticks are merged or skipped; a timer that fires at once, or
 * that catches up on missed ticks in a burst, breaks it. Then stop_periodic_timer stops the ticks.
 */
static void check_periodic_timer(void)
{
	evtchn_port_t port = (evtchn_port_t)timer_port[0];
	uint64_t set = xen_now_ns();
	uint32_t seen = port_events[port];
	struct vcpu_set_periodic_timer pt = {.period_ns = PERIOD_NS};
	long rc = HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, &pt);
	unsigned ticks = 0;
	long early_us = 0;
	int early_tick = -1;
	while (rc == 0 && ticks < PERIODIC_TICKS && wait_port_event(port, seen, WAIT_MS)) {
		seen = port_events[port];
		uint64_t at = port_fired_ns[port], earliest = set + ticks * PERIOD_NS;
		if (early_tick < 0 && at + EARLY_TOLERANCE_NS < earliest) {
			early_tick = (int)ticks;
			early_us = delta_us(at, earliest);
		}
		ticks++;
	}
	long rc_stop = HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
	/* A tick already on its way when the timer stopped may still land; after that, silence. */
	wait_port_event(port, port_events[port], (unsigned)udiv64(PERIOD_NS, 1000000, NULL));
	uint32_t after = port_events[port];
	int quiet = !wait_port_event(port, after, (unsigned)udiv64(5 * PERIOD_NS, 1000000, NULL));
	report("periodic_timer", set != 0 && rc == 0 && ticks == PERIODIC_TICKS && early_tick < 0 && rc_stop == 0 && quiet,
	       rc, "period 10 ms: rc %ld, %u ticks, tick %d early by %ld us, stop %ld, then %s", rc, ticks, early_tick,
	       -early_us, rc_stop, quiet ? "quiet" : "STILL TICKING");
}

static long loop_a = -1, loop_b = -1;

static void check_loopback(void)
{
	struct evtchn_status sa, sb;
	loop_a = evtchn_alloc_unbound(DOMID_SELF);
	long st_unbound = loop_a > 0 ? evtchn_status((evtchn_port_t)loop_a, &sa) : -1;
	int unbound_ok = st_unbound == 0 && sa.status == EVTCHNSTAT_unbound;
	loop_b = loop_a > 0 ? evtchn_bind_interdomain(DOMID_SELF, (evtchn_port_t)loop_a) : -1;
	if (loop_b <= 0) {
		report("loopback_interdomain", 0, loop_b, "alloc_unbound %ld, bind_interdomain %ld", loop_a, loop_b);
		return;
	}
	evtchn_port_t a = (evtchn_port_t)loop_a, b = (evtchn_port_t)loop_b;
	evtchn_status(a, &sa);
	evtchn_status(b, &sb);
	int peers = sa.status == EVTCHNSTAT_interdomain && sa.u.interdomain.port == b &&
		    sb.status == EVTCHNSTAT_interdomain && sb.u.interdomain.port == a;
	uint32_t seen_a = port_events[a], seen_b = port_events[b];
	long rc1 = evtchn_send(b);
	int got_a = wait_port_event(a, seen_a, WAIT_MS);
	long rc2 = evtchn_send(a);
	int got_b = wait_port_event(b, seen_b, WAIT_MS);
	report("loopback_interdomain", unbound_ok && peers && !rc1 && !rc2 && got_a && got_b, 0,
	       "ports %u<->%u: status %s, send b->a %s, a->b %s", a, b, peers ? "peers" : "WRONG",
	       got_a ? "ok" : "lost", got_b ? "ok" : "lost");
}

static int settle_no_event(evtchn_port_t port, uint32_t seen)
{
	return !wait_port_event(port, seen, 100);
}

static void check_mask_unmask(void)
{
	if (loop_b <= 0) {
		report("mask_unmask", 0, 0, "no loopback pair");
		return;
	}
	evtchn_port_t a = (evtchn_port_t)loop_a, b = (evtchn_port_t)loop_b;
	uint32_t seen = port_events[a];
	evtchn_mask(a);
	long rc = evtchn_send(b);
	int held = settle_no_event(a, seen) && evtchn_is_pending(a);
	long rcu = evtchn_unmask(a);
	int redelivered = wait_port_event(a, seen, WAIT_MS);
	/* Unmasking a port that is not masked delivers nothing. */
	uint32_t after = port_events[a];
	long rcu2 = evtchn_unmask(a);
	int quiet = settle_no_event(a, after);
	report("mask_unmask", !rc && held && !rcu && redelivered && !rcu2 && quiet, rcu,
	       "masked send %s, unmask %s, second unmask %s", held ? "held pending" : "NOT held",
	       redelivered ? "re-delivered" : "lost the event", quiet ? "quiet" : "delivered again");

	if (ncpus < 2) return;
	/* Bound to vCPU 1, unmasked from vCPU 0: the event goes to vCPU 1. */
	long rcv = evtchn_bind_vcpu(a, 1);
	seen = port_events[a];
	port_seen_mask[a] = 0;
	evtchn_mask(a);
	evtchn_send(b);
	held = settle_no_event(a, seen);
	evtchn_unmask(a);
	int got = wait_port_event(a, seen, WAIT_MS);
	uint32_t saw = port_seen_mask[a];
	report("mask_unmask_remote", !rcv && held && got && saw == 2u, rcv,
	       "bind_vcpu %ld, re-delivered %s, seen pending by vcpus 0x%x", rcv, got ? "ok" : "never", saw);
	evtchn_bind_vcpu(a, 0);
}

static void check_close_rebind(void)
{
	if (loop_b <= 0) {
		report("close_rebind", 0, 0, "no loopback pair");
		return;
	}
	evtchn_port_t a = (evtchn_port_t)loop_a, b = (evtchn_port_t)loop_b;
	struct evtchn_status sa, sb;
	/* Leave an event pending on a, then close it: the port must come back clean. */
	evtchn_mask(a);
	evtchn_send(b);
	int was_pending = evtchn_is_pending(a);
	long rc_close = evtchn_close(a);
	evtchn_status(a, &sa);
	evtchn_status(b, &sb);
	int cleared = !evtchn_is_pending(a);
	long rc_send_closed = evtchn_send(a);
	evtchn_clear_mask(a);
	long c = evtchn_bind_interdomain(DOMID_SELF, b);
	int clean = c > 0 && !evtchn_is_pending((evtchn_port_t)c);
	uint32_t seen = c > 0 ? port_events[c] : 0;
	long rc_send = c > 0 ? evtchn_send(b) : -1;
	int got = c > 0 && wait_port_event((evtchn_port_t)c, seen, WAIT_MS);
	int ok = was_pending && rc_close == 0 && sa.status == EVTCHNSTAT_closed &&
		 sb.status == EVTCHNSTAT_unbound && cleared && rc_send_closed == -EINVAL && clean &&
		 rc_send == 0 && got;
	report("close_rebind", ok, c,
	       "close %ld: a %u b %u pending %s; send(closed) %ld; rebound as %ld, %s", rc_close, sa.status,
	       sb.status, cleared ? "cleared" : "LEFT", rc_send_closed, c, got ? "delivers" : "silent");
	if (c > 0) loop_a = c;
}

static void check_backend(void)
{
	long p = evtchn_alloc_unbound(0);
	uint32_t backend_port = 0;
	long rc = p > 0 ? backend_request(TSVMM_BACKEND_BIND, (uint32_t)p, NULL, &backend_port) : p;
	struct evtchn_status st;
	if (p > 0) evtchn_status((evtchn_port_t)p, &st);
	int bound = rc == 0 && st.status == EVTCHNSTAT_interdomain && st.u.interdomain.dom == 0 &&
		    st.u.interdomain.port == backend_port;
	if (!bound) {
		report("backend_irqfd", 0, rc, "alloc_unbound %ld, backend bind %ld, status %u", p, rc, st.status);
		report("backend_engine", 0, rc, "no backend");
		report("backend_from_guest", 0, rc, "no backend");
		return;
	}
	evtchn_port_t port = (evtchn_port_t)p;
	static const struct {
		uint32_t op;
		const char *name;
	} ways[] = {{TSVMM_BACKEND_SEND_IRQFD, "backend_irqfd"}, {TSVMM_BACKEND_SEND_ENGINE, "backend_engine"}};
	for (unsigned w = 0; w < 2; w++) {
		unsigned delivered = 0;
		long last = 0;
		/* One event at a time: events sent while one is pending coalesce, as they should. */
		for (unsigned i = 0; i < 3; i++) {
			uint32_t seen = port_events[port], one = 1;
			last = backend_request(ways[w].op, port, &one, NULL);
			if (last) break;
			delivered += (unsigned)wait_port_event(port, seen, WAIT_MS);
		}
		report(ways[w].name, last == 0 && delivered == 3, last, "port %u <- backend port %u: %u of 3 events, rc %ld",
		       port, backend_port, delivered, last);
	}
	long s1 = evtchn_send(port), s2 = evtchn_send(port);
	uint32_t received = 0;
	uint64_t deadline = deadline_ms(WAIT_MS);
	do {
		received = 0;
		backend_request(TSVMM_BACKEND_RECEIVED, port, &received, NULL);
	} while (received < 1 && time_before_deadline(deadline));
	long rc_close = backend_request(TSVMM_BACKEND_CLOSE, port, NULL, NULL);
	evtchn_status(port, &st);
	report("backend_from_guest", !s1 && !s2 && received >= 1 && !rc_close && st.status == EVTCHNSTAT_unbound,
	       (long)received, "guest sends %ld %ld, backend saw %u, after backend close: status %u", s1, s2,
	       received, st.status);
	evtchn_close(port);
}

static void check_sched_op(void)
{
	long y = HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
	/* SCHEDOP_poll returns at once when a polled port is already pending (masked, so it stays). */
	long p = evtchn_bind_ipi(0);
	long rc_poll = -1;
	if (p > 0) {
		evtchn_mask((evtchn_port_t)p);
		evtchn_send((evtchn_port_t)p);
		evtchn_port_t ports[1] = {(evtchn_port_t)p};
		struct sched_poll poll = {.nr_ports = 1, .timeout = 0};
		set_xen_guest_handle(poll.ports, ports);
		rc_poll = HYPERVISOR_sched_op(SCHEDOP_poll, &poll);
		evtchn_close((evtchn_port_t)p);
		evtchn_clear_mask((evtchn_port_t)p);
	}
	report("sched_op", y == 0 && rc_poll == 0, rc_poll, "yield %ld, poll on a pending port %ld", y, rc_poll);
}

/*
 * Poll timeouts: Xen reads sched_poll.timeout as an absolute system time (do_poll: set_timer), but
 * KVM, which does the poll in kernel delivery, reads it as a relative one (kvm_xen_schedop_poll:
 * jiffies + nsecs_to_jiffies(timeout)). A future deadline would mean different waits on the two, so
 * the checks use what both agree on: a deadline already past (1 ns) ends the poll at once, and 0
 * means no timeout at all.
 */
#define POLL_EXPIRED 1ull
/* Xen's do_poll limit on nr_ports. */
#define POLL_MAX_PORTS 128

static long poll_ports(evtchn_port_t *ports, unsigned n, uint64_t timeout)
{
	struct sched_poll poll = {.nr_ports = n, .timeout = timeout};
	set_xen_guest_handle(poll.ports, ports);
	return HYPERVISOR_sched_op(SCHEDOP_poll, &poll);
}

/*
 * SCHEDOP_poll as Linux uses it (xen_poll_irq_timeout): the port masked, interrupts off. Poll must
 * block until a polled port is pending or the timeout passes: a poll on a quiet port times out (not
 * earlier), a poll with a far timeout wakes when VIRQ_TIMER fires, and bad port lists are refused
 * (more than 128 ports, a port past the limit, a list outside RAM).
 *
 * KVM does SCHEDOP_poll itself only with KVM_XEN_HVM_CONFIG_EVTCHN_SEND (tsvmm's kernel delivery);
 * without it (user delivery) KVM answers poll as SCHEDOP_yield, before userspace sees it: 0 at
 * once, whatever the arguments. A port past the limit tells the two apart without blocking; the
 * yield case reports `poll_is_yield` instead, and the VMM's check list says which one it owes.
 */
static void check_poll(void)
{
	static evtchn_port_t many[POLL_MAX_PORTS + 1];
	evtchn_port_t tp = (evtchn_port_t)timer_port[0];
	evtchn_port_t past_limit = NR_PORTS;
	long rc_probe = poll_ports(&past_limit, 1, 0);
	if (rc_probe == 0) {
		uint64_t start = xen_now_ns();
		long rc_quiet = poll_ports(&tp, 1, start + TIMER_DELAY_NS);
		long rc_fault = HYPERVISOR_sched_op(SCHEDOP_poll, (void *)(uintptr_t)0xfffff000u);
		report("poll_is_yield", rc_quiet == 0 && rc_fault == 0, rc_probe,
		       "poll(port %u) = 0: KVM answers SCHEDOP_poll as a yield (no EVTCHN_SEND); quiet %ld after %ld us",
		       (unsigned)past_limit, rc_quiet, delta_us(xen_now_ns(), start));
		return;
	}
	evtchn_mask(tp);
	irq_disable();

	/* A quiet port and an expired timeout: the poll ends (a poll that ignored its timeout would
	 * never return, and the run would time out). */
	uint64_t start = xen_now_ns();
	long rc_t = poll_ports(&tp, 1, POLL_EXPIRED);
	uint64_t end = xen_now_ns();
	int pending_t = evtchn_is_pending(tp);
	report("poll_times_out", rc_t == 0 && !pending_t, rc_t,
	       "poll(quiet port, expired timeout) = %ld after %ld us, port %s", rc_t, delta_us(end, start),
	       pending_t ? "pending" : "quiet");

	/* No timeout: only the event can end this poll, and not before VIRQ_TIMER's deadline. */
	start = xen_now_ns();
	uint64_t deadline = start + TIMER_DELAY_NS;
	struct vcpu_set_singleshot_timer st = {.timeout_abs_ns = deadline, .flags = 0};
	long rc_arm = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &st);
	long rc_w = poll_ports(&tp, 1, 0);
	end = xen_now_ns();
	int pending_w = evtchn_is_pending(tp);
	report("poll_wakes_on_event",
	       start != 0 && rc_arm == 0 && rc_w == 0 && pending_w && end + EARLY_TOLERANCE_NS >= deadline, rc_w,
	       "poll(timer port, no timeout) = %ld, returned %ld us after VIRQ_TIMER's deadline, port %s", rc_w,
	       delta_us(end, deadline), pending_w ? "pending" : "QUIET");

	/* The timer port is pending now: a valid list returns at once, a bad one is refused first. */
	for (unsigned i = 0; i <= POLL_MAX_PORTS; i++) many[i] = tp;
	long rc_128 = poll_ports(many, POLL_MAX_PORTS, 0);
	long rc_129 = poll_ports(many, POLL_MAX_PORTS + 1, 0);
	long rc_port = rc_probe;
	long rc_fault = HYPERVISOR_sched_op(SCHEDOP_poll, (void *)(uintptr_t)0xfffff000u);
	report("poll_bad_ports", rc_128 == 0 && rc_129 == -EINVAL && rc_port == -EINVAL && rc_fault == -EFAULT,
	       rc_129, "128 ports %ld, 129 ports %ld (want %d), port %u %ld, list outside RAM %ld", rc_128, rc_129,
	       -EINVAL, (unsigned)past_limit, rc_port, rc_fault);

	/* Leave the timer port as it was: not pending, unmasked, no upcall owed. */
	sync_test_and_clear_bit(tp, shinfo->evtchn_pending);
	evtchn_clear_mask(tp);
	irq_enable();
}

static void expect(const char *name, long got, long want, const char *what)
{
	report(name, got == want, got, "%s = %ld, want %ld", what, got, want);
}

static void check_errors(void)
{
	struct evtchn_send send = {.port = 1};
	uint64_t now = xen_now_ns();
	expect("error_unknown_hypercall", hypercall5(60, 0, 0, 0, 0, 0), -ENOSYS, "hypercall 60");
	expect("error_hypercall_past_page", hypercall5(200, 0, 0, 0, 0, 0), -ENOSYS, "hypercall 200");
	expect("error_evtchn_unknown_op", HYPERVISOR_event_channel_op(99, &send), -ENOSYS, "EVTCHNOP 99");
	expect("error_evtchn_fifo", HYPERVISOR_event_channel_op(EVTCHNOP_init_control, &send), -ENOSYS,
	       "EVTCHNOP_init_control");
	expect("error_send_port0", evtchn_send(0), -EINVAL, "send(0)");
	expect("error_send_out_of_range", evtchn_send(NR_PORTS + 5), -EINVAL, "send(NR_PORTS+5)");
	expect("error_send_virq", evtchn_send((evtchn_port_t)timer_port[0]), -EINVAL, "send(VIRQ port)");
	expect("error_bind_virq_twice", evtchn_bind_virq(VIRQ_TIMER, 0), -EEXIST, "bind_virq(TIMER) again");
	expect("error_bind_virq_bad", evtchn_bind_virq(99, 0), -EINVAL, "bind_virq(99)");
	expect("error_bind_ipi_bad_vcpu", evtchn_bind_ipi(77), -ENOENT, "bind_ipi(vcpu 77)");
	expect("error_evtchn_efault", HYPERVISOR_event_channel_op(EVTCHNOP_send, (void *)(uintptr_t)0xfffff000u),
	       -EFAULT, "send with its argument outside RAM");
	struct vcpu_register_vcpu_info info = {0};
	expect("error_vcpu_op_bad_vcpu", HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 99, &info), -ENOENT,
	       "register_vcpu_info(vcpu 99)");
	/* Xen 4.18, KVM 6.7 and QEMU ignore VCPU_SSHOTTMR_future: a past deadline fires at once. */
	struct vcpu_set_singleshot_timer past = {.timeout_abs_ns = now > 1000000 ? now - 1000000 : 1,
						 .flags = VCPU_SSHOTTMR_future};
	evtchn_port_t tp = (evtchn_port_t)timer_port[0];
	uint32_t seen = port_events[tp];
	long rc_past = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &past);
	int fired = wait_port_event(tp, seen, WAIT_MS);
	report("singleshot_past_fires", rc_past == 0 && fired, rc_past,
	       "singleshot(past, VCPU_SSHOTTMR_future) = %ld, VIRQ_TIMER %s", rc_past, fired ? "fired" : "never fired");
	if (ncpus > 1) {
		struct vcpu_set_singleshot_timer t = {.timeout_abs_ns = now + 1000000000ull, .flags = 0};
		expect("error_singleshot_other_vcpu", HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 1, &t), -EINVAL,
		       "singleshot on another vCPU");
	}
	struct xen_hvm_evtchn_upcall_vector bad_vec = {.vcpu = 0, .vector = 5};
	expect("error_upcall_vector_bad", HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &bad_vec), -EINVAL,
	       "set_evtchn_upcall_vector(5)");
	expect("error_hvm_op_unknown", HYPERVISOR_hvm_op(99, &bad_vec), -ENOSYS, "hvm_op 99");
	expect("error_memory_op_unknown", HYPERVISOR_memory_op(99, &bad_vec), -ENOSYS, "memory_op 99");
	expect("error_sched_op_unknown", HYPERVISOR_sched_op(99, NULL), -ENOSYS, "sched_op 99");
	expect("error_vcpu_op_unknown", HYPERVISOR_vcpu_op(99, 0, NULL), -ENOSYS, "vcpu_op 99");
}

static void check_alive(void)
{
	/* After the bad calls: the VMM still answers and still delivers. */
	evtchn_port_t mine = (evtchn_port_t)ipi_port[0];
	uint32_t seen = port_events[mine];
	long rc = evtchn_send(mine);
	int got = wait_port_event(mine, seen, WAIT_MS);
	report("alive", rc == 0 && got && spurious_irqs == 0, spurious_irqs,
	       "self IPI %s, %u spurious interrupts", got ? "delivered" : "lost", spurious_irqs);
}

void guest_main(unsigned cpu)
{
	if (cpu == 0) printk("tsvmm demo guest (%u-bit)\n", (unsigned)(sizeof(long) * 8));
	if (xen_setup_cpu(cpu)) {
		if (cpu == 0) guest_exit(SHUTDOWN_crash);
		for (;;) safe_halt();
	}
	ncpus = xen_count_cpus();
	bind_own_ports(cpu);
	int own_word = ipi_port[cpu] > 0 && timer_port[cpu] > 0 &&
		       (unsigned long)ipi_port[cpu] / BITS_PER_LONG == cpu &&
		       (unsigned long)timer_port[cpu] / BITS_PER_LONG == cpu;
	report("bind_per_vcpu", own_word, ipi_port[cpu],
	       "%u vCPUs; IPI port %ld, VIRQ_TIMER port %ld (selector word %u wanted)", ncpus, ipi_port[cpu],
	       timer_port[cpu], cpu);
	uint32_t ipi_seen = ipi_port[cpu] > 0 ? port_events[ipi_port[cpu]] : 0;
	cpu_barrier(ncpus);
	check_ipi(cpu, ipi_seen);
	check_virq_timer(cpu);
	cpu_barrier(ncpus);
	if (cpu != 0) {
		/* Stay reachable (bind_vcpu and remote unmask target vCPU 1) until vCPU 0 is done. */
		while (!all_done) safe_halt();
		for (;;) safe_halt();
	}
	check_set_timer_op();
	check_periodic_timer();
	check_loopback();
#ifdef DEMO_CRASH_MIDWAY
	/* This build stops in the middle of its run: an invalid opcode, which the guest's exception
	 * handler reports ("exception") and turns into SHUTDOWN_crash. */
	__asm__ volatile("ud2");
#endif
	check_mask_unmask();
	check_close_rebind();
	check_backend();
	check_sched_op();
	check_poll();
	check_errors();
	check_alive();
#ifdef DEMO_PLANTED_FAILURE
	/* This build reports one failed check and otherwise ends well: tsvmm must exit with 1. */
	report("planted_failure", 0, 0, "this build fails one check on purpose");
#endif
	all_done = 1;
	printk("demo guest done\n");
	guest_exit(SHUTDOWN_poweroff);
}
