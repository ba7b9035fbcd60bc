/* Xen HVM guest setup and the 2-level upcall handler, after Linux's drivers/xen/events. */
#include "xenguest.h"

struct xen_platform xen;
shared_info_t *volatile shinfo;
vcpu_info_t *volatile vcpu_info_of[MAX_CPUS];
char shared_info_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
/* Each vCPU's registered vcpu_info: one page, 64 bytes apiece, away from shared_info. */
static vcpu_info_t vcpu_info_area[MAX_CPUS] __attribute__((aligned(PAGE_SIZE)));
volatile uint32_t port_events[NR_PORTS];
volatile uint8_t port_last_cpu[NR_PORTS];
volatile uint32_t port_seen_mask[NR_PORTS];
volatile uint64_t port_fired_ns[NR_PORTS];
volatile uint32_t upcalls[MAX_CPUS];
volatile uint8_t port_bound_cpu[NR_PORTS] = {[0 ... NR_PORTS - 1] = PORT_CPU_UNKNOWN};

static void bind_port_to_cpu(long port, unsigned cpu)
{
	if (port > 0 && port < (long)NR_PORTS) port_bound_cpu[port] = (uint8_t)cpu;
}

int xen_detect(unsigned cpu)
{
	uint32_t r[4];
	/* Xen may sit at 0x40000100 when Viridian takes the first block; scan like Linux does. */
	for (uint32_t base = XEN_CPUID_FIRST_LEAF; base < XEN_CPUID_FIRST_LEAF + 0x10000; base += 0x100) {
		cpuid(base, 0, r);
		if (r[1] == XEN_CPUID_SIGNATURE_EBX && r[2] == XEN_CPUID_SIGNATURE_ECX &&
		    r[3] == XEN_CPUID_SIGNATURE_EDX && r[0] - base >= 2) {
			xen.base = base;
			xen.max_leaf = r[0];
			break;
		}
	}
	if (!xen.base) return report("xen_cpuid", 0, 0, "no XenVMMXenVMM signature in CPUID"), -1;
	cpuid(xen.base + 1, 0, r);
	xen.version = r[0];
	cpuid(xen.base + 2, 0, r);
	uint32_t pages = r[0];
	xen.msr = r[1];
	if (xen.max_leaf >= xen.base + 3) {
		cpuid(xen.base + 3, 0, r);
		xen.tsc_khz = r[2];
		if (xen.tsc_khz) tsc_per_ms = xen.tsc_khz;
	}
	uint32_t vcpu_id = cpu;
	if (xen.max_leaf >= xen.base + 4) {
		cpuid(xen.base + 4, 0, r);
		xen.hvm_flags = r[0];
		if (r[0] & XEN_HVM_CPUID_VCPU_ID_PRESENT) vcpu_id = r[1];
	}
	uint32_t apic_id = lapic_read(0x20) >> 24;
	int ok = pages >= 1 && xen.msr >= 0x40000000 && vcpu_id == cpu && apic_id == cpu;
	return report("xen_cpuid", ok, (long)xen.version,
		      "Xen %u.%u at 0x%x, %u hypercall page(s), msr 0x%x, vcpu id %u, apic id %u",
		      xen.version >> 16, xen.version & 0xffff, xen.base, pages, xen.msr, vcpu_id, apic_id)
		       ? 0
		       : -1;
}

int xen_install_hypercall_page(unsigned cpu)
{
	(void)cpu;
	wrmsr(xen.msr, (uintptr_t)hypercall_page);
	/* KVM writes 32-byte stubs: b8 <nr:le32> <vmcall|vmmcall> c3. */
	int stubs_ok = 1;
	for (unsigned nr = 0; nr < PAGE_SIZE / 32; nr++) {
		const uint8_t *s = (const uint8_t *)hypercall_page + nr * 32;
		uint32_t imm;
		memcpy(&imm, s + 1, 4);
		if (s[0] != 0xb8 || imm != nr || s[5] != 0x0f || s[6] != 0x01 || s[8] != 0xc3) stubs_ok = 0;
	}
	if (!stubs_ok) return report("hypercall_page", 0, 0, "the MSR write left no hypercall stubs"), -1;
	hypercall_page_ready = 1;
	long v = HYPERVISOR_xen_version(XENVER_version, NULL);
	return report("hypercall_page", v == (long)xen.version, v,
		      "xen_version() = 0x%lx, CPUID says 0x%x", v, xen.version)
		       ? 0
		       : -1;
}

int xen_map_shared_info(unsigned cpu)
{
	(void)cpu;
	struct xen_add_to_physmap xatp = {
	    .domid = DOMID_SELF,
	    .space = XENMAPSPACE_shared_info,
	    .idx = 0,
	    .gpfn = (uintptr_t)shared_info_page >> 12,
	};
	long rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
	if (rc == 0) shinfo = (shared_info_t *)shared_info_page;
	return report("shared_info", rc == 0, rc, "XENMEM_add_to_physmap(shared_info, gpfn 0x%lx) = %ld",
		      (unsigned long)xatp.gpfn, rc)
		       ? 0
		       : -1;
}

int xen_register_vcpu_info(unsigned cpu)
{
	uintptr_t a = (uintptr_t)&vcpu_info_area[cpu];
	struct vcpu_register_vcpu_info info = {.mfn = a >> 12, .offset = a & (PAGE_SIZE - 1)};
	long rc = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, cpu, &info);
	if (rc == 0) vcpu_info_of[cpu] = &vcpu_info_area[cpu];
	/* A second registration must be refused: the vcpu_info cannot move under the hypervisor. */
	long again = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, cpu, &info);
	return report("vcpu_info", rc == 0 && again == -EINVAL, rc,
		      "register_vcpu_info at %p = %ld, again = %ld", (void *)a, rc, again)
		       ? 0
		       : -1;
}

static void xen_upcall(unsigned vector)
{
	(void)vector;
	unsigned cpu = this_cpu();
	vcpu_info_t *vi = vcpu_info_of[cpu];
	upcalls[cpu]++;
	if (vi && shinfo) {
		do {
			vi->evtchn_upcall_pending = 0;
			xen_ulong_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
			while (sel) {
				unsigned w = (unsigned)__builtin_ctzl(sel);
				sel &= sel - 1;
				xen_ulong_t bits = shinfo->evtchn_pending[w] & ~shinfo->evtchn_mask[w];
				while (bits) {
					unsigned port = w * (unsigned)BITS_PER_LONG + (unsigned)__builtin_ctzl(bits);
					bits &= bits - 1;
					__atomic_or_fetch(&port_seen_mask[port], 1u << cpu, __ATOMIC_SEQ_CST);
					/* Another vCPU's port: its own upcall takes it (Linux's active_evtchns). */
					unsigned owner = port_bound_cpu[port];
					if (owner == PORT_CPU_UNKNOWN) owner = 0;
					if (owner != cpu) continue;
					if (sync_test_and_clear_bit(port, shinfo->evtchn_pending)) {
						port_last_cpu[port] = (uint8_t)cpu;
						port_fired_ns[port] = xen_now_ns();
						__atomic_add_fetch(&port_events[port], 1, __ATOMIC_SEQ_CST);
					}
				}
			}
			barrier();
		} while (vi->evtchn_upcall_pending);
	}
	/* The per-vCPU vector comes through the local APIC; an EOI with nothing in service is a no-op. */
	lapic_eoi();
}

int xen_setup_upcall(unsigned cpu)
{
	idt_init();
	lapic_init();
	set_irq_handler(UPCALL_VECTOR, xen_upcall);
	long rc_cb = 0, rc_vec = -ENOSYS;
	if (cpu == 0) {
		struct xen_hvm_param p = {
		    .domid = DOMID_SELF,
		    .index = HVM_PARAM_CALLBACK_IRQ,
		    .value = ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | UPCALL_VECTOR,
		};
		rc_cb = HYPERVISOR_hvm_op(HVMOP_set_param, &p);
	}
	if (xen.hvm_flags & XEN_HVM_CPUID_UPCALL_VECTOR) {
		struct xen_hvm_evtchn_upcall_vector u = {.vcpu = cpu, .vector = UPCALL_VECTOR};
		rc_vec = HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &u);
	}
	int ok = rc_cb == 0 && rc_vec == 0;
	report("upcall_vector", ok, rc_vec, "vector 0x%x: callback_irq = %ld, set_evtchn_upcall_vector = %ld",
	       UPCALL_VECTOR, rc_cb, rc_vec);
	irq_enable();
	return ok ? 0 : -1;
}

int xen_setup_cpu(unsigned cpu)
{
	if (xen_detect(cpu)) return -1;
	if (xen_install_hypercall_page(cpu)) return -1;
	if (xen_map_shared_info(cpu)) return -1;
	if (xen_register_vcpu_info(cpu)) return -1;
	return xen_setup_upcall(cpu);
}

unsigned xen_count_cpus(void)
{
	unsigned n = 0;
	while (n < MAX_CPUS && HYPERVISOR_vcpu_op(VCPUOP_is_up, n, NULL) == 1) n++;
	return n;
}

/* (delta * mul) >> 32 without a 128-bit multiply, for both widths. */
static uint64_t mul_frac(uint64_t delta, uint32_t mul)
{
	uint64_t lo = (uint64_t)(uint32_t)delta * mul;
	uint64_t hi = (delta >> 32) * mul;
	return hi + (lo >> 32);
}

uint64_t xen_now_ns(void)
{
	vcpu_info_t *vi = vcpu_info_of[this_cpu()];
	if (!vi) return 0;
	volatile struct vcpu_time_info *t = &vi->time;
	uint32_t version;
	uint64_t ns;
	do {
		version = t->version;
		barrier();
		if (!version || !t->tsc_to_system_mul) return 0;
		uint64_t delta = rdtsc() - t->tsc_timestamp;
		int8_t shift = t->tsc_shift;
		delta = shift < 0 ? delta >> -shift : delta << shift;
		ns = t->system_time + mul_frac(delta, t->tsc_to_system_mul);
		barrier();
	} while ((version & 1) || version != t->version);
	return ns;
}

static long evtchn_op(int cmd, void *arg) { return HYPERVISOR_event_channel_op(cmd, arg); }

long evtchn_alloc_unbound(domid_t remote)
{
	struct evtchn_alloc_unbound a = {.dom = DOMID_SELF, .remote_dom = remote};
	long rc = evtchn_op(EVTCHNOP_alloc_unbound, &a);
	if (rc) return rc;
	bind_port_to_cpu(a.port, 0); /* Xen binds new ports to vCPU 0 */
	return (long)a.port;
}

long evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port)
{
	struct evtchn_bind_interdomain b = {.remote_dom = remote, .remote_port = remote_port};
	long rc = evtchn_op(EVTCHNOP_bind_interdomain, &b);
	if (rc) return rc;
	bind_port_to_cpu(b.local_port, 0);
	return (long)b.local_port;
}

long evtchn_bind_ipi(unsigned vcpu)
{
	struct evtchn_bind_ipi b = {.vcpu = vcpu};
	long rc = evtchn_op(EVTCHNOP_bind_ipi, &b);
	if (rc) return rc;
	bind_port_to_cpu(b.port, vcpu);
	return (long)b.port;
}

long evtchn_bind_virq(unsigned virq, unsigned vcpu)
{
	struct evtchn_bind_virq b = {.virq = virq, .vcpu = vcpu};
	long rc = evtchn_op(EVTCHNOP_bind_virq, &b);
	if (rc) return rc;
	bind_port_to_cpu(b.port, vcpu);
	return (long)b.port;
}

long evtchn_send(evtchn_port_t port)
{
	struct evtchn_send s = {.port = port};
	return evtchn_op(EVTCHNOP_send, &s);
}

long evtchn_close(evtchn_port_t port)
{
	struct evtchn_close c = {.port = port};
	return evtchn_op(EVTCHNOP_close, &c);
}

long evtchn_unmask(evtchn_port_t port)
{
	struct evtchn_unmask u = {.port = port};
	return evtchn_op(EVTCHNOP_unmask, &u);
}

long evtchn_bind_vcpu(evtchn_port_t port, unsigned vcpu)
{
	struct evtchn_bind_vcpu b = {.port = port, .vcpu = vcpu};
	long rc = evtchn_op(EVTCHNOP_bind_vcpu, &b);
	if (rc == 0) bind_port_to_cpu(port, vcpu);
	return rc;
}

long evtchn_status(evtchn_port_t port, struct evtchn_status *st)
{
	memset(st, 0, sizeof(*st));
	st->dom = DOMID_SELF;
	st->port = port;
	return evtchn_op(EVTCHNOP_status, st);
}

void evtchn_mask(evtchn_port_t port) { sync_test_and_set_bit(port, shinfo->evtchn_mask); }
void evtchn_clear_mask(evtchn_port_t port) { sync_test_and_clear_bit(port, shinfo->evtchn_mask); }
int evtchn_is_pending(evtchn_port_t port) { return test_bit(port, shinfo->evtchn_pending); }

int wait_port_event(evtchn_port_t port, uint32_t seen, unsigned ms)
{
	uint64_t deadline = deadline_ms(ms);
	irq_enable();
	while (port_events[port % NR_PORTS] == seen) {
		if (!time_before_deadline(deadline)) return 0;
		cpu_relax();
	}
	return 1;
}

long backend_request(uint32_t op, uint32_t port, uint32_t *count, uint32_t *backend_port)
{
	static struct tsvmm_backend_req reqs[MAX_CPUS];
	struct tsvmm_backend_req *r = &reqs[this_cpu() % MAX_CPUS];
	memset(r, 0, sizeof(*r));
	r->magic = TSVMM_BACKEND_MAGIC;
	r->op = op;
	r->port = port;
	r->count = count ? *count : 0;
	r->status = -ENOSYS; /* what is left when no VMM answers */
	barrier();
	outl(TSVMM_PORT_BACKEND, (uint32_t)(uintptr_t)r);
	barrier();
	if (count) *count = r->count;
	if (backend_port) *backend_port = r->backend_port;
	return r->status;
}
