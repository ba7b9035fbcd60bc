/*
 * C baseline for @tsvmm/irq-routing's encode benchmark: a C VMM keeps its routes in its own
 * tagged structs and fills struct kvm_irq_routing from them for KVM_SET_GSI_ROUTING. This fills
 * the same 4096-entry mixed table as packages/irq-routing/bench/encode.bench.mjs, times it and
 * writes the bytes so the benchmark can check both sides produced the same table.
 *
 *   encode <x86|all|xen|msi> <iterations> <rounds> <out.bin>
 *       prints {"usPerEncode": <median of rounds>}
 *
 * x86: the table a VMM sends on x86 (KVM accepts it): IOAPIC, MSI, HV_SINT and Xen routes.
 * all: every entry type, MSI with KVM_MSI_VALID_DEVID and S390_ADAPTER included.
 * xen: only Xen event channel routes (a Xen guest's backends and IPIs).
 * msi: only MSI routes (a VMM with PCI devices).
 * x86's time is also the baseline of RoutingTable's one-route change: a C VMM rebuilds the
 * whole table on every change, as QEMU and Firecracker do.
 */
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NR_ROUTES 4096

enum kind { IRQCHIP, MSI, HV_SINT, XEN_EVTCHN, S390_ADAPTER };

struct route {
	enum kind kind;
	uint32_t gsi;
	union {
		struct { uint32_t chip, pin; } irqchip;
		struct { uint32_t lo, hi, data, devid; int has_devid; } msi;
		struct { uint32_t vcpu, sint; } hv_sint;
		struct { uint32_t port, vcpu, priority; } xen;
		struct { uint64_t ind_addr, summary_addr, ind_offset; uint32_t summary_offset, id; } s390;
	};
};

enum shape { SHAPE_X86, SHAPE_ALL, SHAPE_XEN, SHAPE_MSI };

/* Which recipe entry i of a table of `shape` follows (the cases of make_routes). */
static unsigned recipe(enum shape shape, unsigned i)
{
	switch (shape) {
	case SHAPE_ALL:
		return i % 6;
	case SHAPE_XEN:
		return 3;
	case SHAPE_MSI:
		return 1;
	default:
		return i % 4;
	}
}

/* The tables' recipes; encode.bench.mjs builds the same ones. */
static void make_routes(struct route *r, unsigned n, enum shape shape)
{
	for (unsigned i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].gsi = i;
		switch (recipe(shape, i)) {
		case 0:
			r[i].kind = IRQCHIP;
			r[i].irqchip.chip = KVM_IRQCHIP_IOAPIC;
			r[i].irqchip.pin = i % 24;
			break;
		case 1:
		case 4:
			r[i].kind = MSI;
			r[i].msi.lo = 0xfee00000u | ((i & 0xff) << 12);
			r[i].msi.hi = 0;
			r[i].msi.data = 0x4000u | (i & 0xff);
			r[i].msi.has_devid = recipe(shape, i) == 4;
			r[i].msi.devid = r[i].msi.has_devid ? i : 0;
			break;
		case 2:
			r[i].kind = HV_SINT;
			r[i].hv_sint.vcpu = i % 8;
			r[i].hv_sint.sint = i % 16;
			break;
		case 3:
			r[i].kind = XEN_EVTCHN;
			r[i].xen.port = i;
			r[i].xen.vcpu = i % 4;
			r[i].xen.priority = KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL;
			break;
		default:
			r[i].kind = S390_ADAPTER;
			r[i].s390.ind_addr = 0x100000000ull * i + 8;
			r[i].s390.summary_addr = 0xffff000000000000ull | i;
			r[i].s390.ind_offset = i;
			r[i].s390.summary_offset = i * 2;
			r[i].s390.id = i % 16;
			break;
		}
	}
}

__attribute__((noinline)) static void fill(struct kvm_irq_routing *t, const struct route *r, unsigned n)
{
	t->nr = n;
	t->flags = 0;
	for (unsigned i = 0; i < n; i++) {
		struct kvm_irq_routing_entry *e = &t->entries[i];
		memset(e, 0, sizeof(*e));
		e->gsi = r[i].gsi;
		switch (r[i].kind) {
		case IRQCHIP:
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip = r[i].irqchip.chip;
			e->u.irqchip.pin = r[i].irqchip.pin;
			break;
		case MSI:
			e->type = KVM_IRQ_ROUTING_MSI;
			e->u.msi.address_lo = r[i].msi.lo;
			e->u.msi.address_hi = r[i].msi.hi;
			e->u.msi.data = r[i].msi.data;
			if (r[i].msi.has_devid) {
				e->flags = KVM_MSI_VALID_DEVID;
				e->u.msi.devid = r[i].msi.devid;
			}
			break;
		case HV_SINT:
			e->type = KVM_IRQ_ROUTING_HV_SINT;
			e->u.hv_sint.vcpu = r[i].hv_sint.vcpu;
			e->u.hv_sint.sint = r[i].hv_sint.sint;
			break;
		case XEN_EVTCHN:
			e->type = KVM_IRQ_ROUTING_XEN_EVTCHN;
			e->u.xen_evtchn.port = r[i].xen.port;
			e->u.xen_evtchn.vcpu = r[i].xen.vcpu;
			e->u.xen_evtchn.priority = r[i].xen.priority;
			break;
		case S390_ADAPTER:
			e->type = KVM_IRQ_ROUTING_S390_ADAPTER;
			e->u.adapter.ind_addr = r[i].s390.ind_addr;
			e->u.adapter.summary_addr = r[i].s390.summary_addr;
			e->u.adapter.ind_offset = r[i].s390.ind_offset;
			e->u.adapter.summary_offset = r[i].s390.summary_offset;
			e->u.adapter.adapter_id = r[i].s390.id;
			break;
		}
	}
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "x86", "all", "xen", "msi" };
	int shape = -1;
	for (int k = 0; argc == 5 && k < 4; k++)
		if (!strcmp(argv[1], names[k]))
			shape = k;
	if (shape < 0) {
		fprintf(stderr, "usage: %s <x86|all|xen|msi> <iterations> <rounds> <out.bin>\n", argv[0]);
		return 2;
	}
	long iterations = atol(argv[2]);
	int rounds = atoi(argv[3]);
	if (iterations <= 0 || rounds <= 0 || rounds > 1000)
		return 2;
	size_t size = sizeof(struct kvm_irq_routing) + NR_ROUTES * sizeof(struct kvm_irq_routing_entry);
	struct kvm_irq_routing *table = calloc(1, size);
	struct route *routes = calloc(NR_ROUTES, sizeof(*routes));
	double *per = calloc(rounds, sizeof(*per));
	if (!table || !routes || !per)
		return 3;
	make_routes(routes, NR_ROUTES, shape);

	for (long i = 0; i < iterations; i++) /* warm up caches and branch predictors */
		fill(table, routes, NR_ROUTES);
	for (int k = 0; k < rounds; k++) {
		double t0 = now_us();
		for (long i = 0; i < iterations; i++) {
			fill(table, routes, NR_ROUTES);
			__asm__ volatile("" : : "r"(table) : "memory"); /* the table is "used" every time */
		}
		per[k] = (now_us() - t0) / iterations;
	}
	qsort(per, rounds, sizeof(*per), cmp_double);

	FILE *f = fopen(argv[4], "wb");
	if (!f || fwrite(table, 1, size, f) != size || fclose(f))
		return 4;
	printf("{\"usPerEncode\": %.4f}\n", per[rounds / 2]);
	return 0;
}
