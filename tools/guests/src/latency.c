/*
 * The event latency guest: how long from a backend's notify() in the VMM to this guest's upcall
 * handler running, with the vCPU halted in between (how a PV frontend waits for its backend).
 * Each round asks the VMM's backend to notify an interdomain port a little later
 * (TSVMM_BACKEND_NOTIFY_LATER), halts until the upcall handler took the port, then asks for the
 * Xen system time of the notify (TSVMM_BACKEND_NOTIFY_TIME). The handler stamps port_fired_ns
 * from the same clock (this vCPU's pvclock), so their difference is the latency. One check,
 * `event_latency`, carries the median and p99; vCPUs other than 0 only set up and halt.
 */
#include "xenguest.h"

#ifndef LATENCY_ROUNDS
#define LATENCY_ROUNDS 200
#endif
/* Long enough for the guest to be halted when the notify comes, short enough for TCG. */
#define NOTIFY_DELAY_US 2000u
/* A notify that never comes: give up on the round after this long. The deadline is checked only
 * when the halt wakes, and nothing else interrupts this guest: a lost notify leaves it halted
 * until tsvmm's --timeout, which the bench and the KVM test both set. */
#define ROUND_WAIT_MS 2000u

static uint64_t latency_ns[LATENCY_ROUNDS];

/* Halts until the port's event count moves, or the deadline passes; 1 if it moved. */
static int halt_for_event(evtchn_port_t port, uint32_t seen, unsigned ms)
{
	uint64_t deadline = deadline_ms(ms);
	for (;;) {
		irq_disable();
		if (port_events[port] != seen) {
			irq_enable();
			return 1;
		}
		if (!time_before_deadline(deadline)) {
			irq_enable();
			return 0;
		}
		safe_halt(); /* sti; hlt: the upcall cannot slip in between the check and the halt */
	}
}

static void sort_u64(uint64_t *a, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		uint64_t v = a[i];
		unsigned j = i;
		for (; j > 0 && a[j - 1] > v; j--) a[j] = a[j - 1];
		a[j] = v;
	}
}

static void measure(void)
{
	long p = evtchn_alloc_unbound(0);
	uint32_t backend_port = 0;
	long rc = p > 0 ? backend_request(TSVMM_BACKEND_BIND, (uint32_t)p, NULL, &backend_port) : p;
	if (rc) {
		report("event_latency", 0, rc, "alloc_unbound %ld, backend bind %ld", p, rc);
		return;
	}
	evtchn_port_t port = (evtchn_port_t)p;
	port_bound_cpu[port] = 0;
	unsigned n = 0, lost = 0, early = 0;
	for (unsigned i = 0; i < LATENCY_ROUNDS && rc == 0; i++) {
		uint32_t seen = port_events[port], delay = NOTIFY_DELAY_US;
		rc = backend_request(TSVMM_BACKEND_NOTIFY_LATER, port, &delay, NULL);
		if (rc) break;
		if (!halt_for_event(port, seen, ROUND_WAIT_MS)) {
			lost++;
			/* The notify may still come: let it, so the next round starts clean. */
			halt_for_event(port, seen, ROUND_WAIT_MS);
			continue;
		}
		uint32_t lo = 0, hi = 0;
		rc = backend_request(TSVMM_BACKEND_NOTIFY_TIME, port, &lo, &hi);
		if (rc) break;
		uint64_t notified = ((uint64_t)hi << 32) | lo, fired = port_fired_ns[port];
		/* The handler cannot run before the notify: if it seems to, the two clocks disagree. */
		if (fired < notified) early++;
		else latency_ns[n++] = fired - notified;
	}
	backend_request(TSVMM_BACKEND_CLOSE, port, NULL, NULL);
	evtchn_close(port);
	if (n == 0) {
		report("event_latency", 0, rc, "no event timed: rc %ld, %u lost, %u before their notify", rc, lost,
		       early);
		return;
	}
	sort_u64(latency_ns, n);
	uint64_t median = latency_ns[n / 2], p99 = latency_ns[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	report("event_latency", rc == 0 && lost == 0 && early == 0 && n == LATENCY_ROUNDS, (long)(median / 1000),
	       "median %llu ns p99 %llu ns over %u (%u lost, %u early)", (unsigned long long)median,
	       (unsigned long long)p99, n, lost, early);
}

void guest_main(unsigned cpu)
{
	if (cpu == 0) printk("tsvmm event latency guest (%u-bit)\n", (unsigned)(sizeof(long) * 8));
	if (xen_setup_cpu(cpu)) {
		if (cpu == 0) guest_exit(SHUTDOWN_crash);
		for (;;) safe_halt();
	}
	if (cpu != 0)
		for (;;) safe_halt();
	measure();
	printk("latency guest done\n");
	guest_exit(SHUTDOWN_poweroff);
}
