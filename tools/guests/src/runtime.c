/*
 * The guests' small runtime: string helpers, a printf for the 0xE9 console, result reports,
 * the IDT and interrupt dispatch, the local APIC, a vCPU barrier and TSC deadlines.
 */
#include <stdarg.h>

#include "common.h"
#include "hypercall.h"

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	while (n--) *p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--) *p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q) return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n]) n++;
	return n;
}

uint64_t udiv64(uint64_t n, uint32_t d, uint32_t *rem)
{
	uint64_t q = 0;
	uint64_t r = 0;
	for (int i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= (uint64_t)1 << i;
		}
	}
	if (rem) *rem = (uint32_t)r;
	return q;
}

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size) o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, unsigned long long v, unsigned base, int neg, int width, char pad)
{
	char tmp[24];
	int n = 0;
	do {
		uint32_t digit;
		v = udiv64(v, base, &digit);
		tmp[n++] = "0123456789abcdef"[digit];
	} while (v);
	if (neg) tmp[n++] = '-';
	while (width-- > n) put(o, pad);
	while (n) put(o, tmp[--n]);
}

static int vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {buf, size, 0};
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		char pad = ' ';
		int width = 0, lng = 0;
		fmt++;
		if (*fmt == '0') pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') lng++, fmt++;
		switch (*fmt) {
		case 'd': {
			long long v = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
			put_num(&o, v < 0 ? -(unsigned long long)v : (unsigned long long)v, 10, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v = lng >= 2 ? va_arg(ap, unsigned long long)
					       : lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			put_num(&o, v, *fmt == 'x' ? 16 : 10, 0, width, pad);
			break;
		}
		case 'p':
			put(&o, '0'), put(&o, 'x');
			put_num(&o, (uintptr_t)va_arg(ap, void *), 16, 0, 0, ' ');
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s) s = "(null)";
			while (*s) put(&o, *s++);
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		default:
			put(&o, '?');
		}
	}
	if (size) buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int snprintf_lite(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void printk(const char *fmt, ...)
{
	char line[160];
	va_list ap;
	va_start(ap, fmt);
	vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (const char *p = line; *p; p++) outb(TSVMM_PORT_CONSOLE, (uint8_t)*p);
}

static struct tsvmm_result result_slot[MAX_CPUS];

int report(const char *name, int ok, long detail, const char *fmt, ...)
{
	unsigned cpu = this_cpu();
	struct tsvmm_result *r = &result_slot[cpu < MAX_CPUS ? cpu : 0];
	memset(r, 0, sizeof(*r));
	r->magic = TSVMM_RESULT_MAGIC;
	r->vcpu = cpu;
	r->status = ok ? TSVMM_RESULT_PASS : TSVMM_RESULT_FAIL;
	r->detail = (int32_t)detail;
	size_t n = strlen(name);
	memcpy(r->name, name, n < TSVMM_NAME_LEN - 1 ? n : TSVMM_NAME_LEN - 1);
	va_list ap;
	va_start(ap, fmt);
	vformat(r->message, TSVMM_MESSAGE_LEN, fmt, ap);
	va_end(ap);
	barrier();
	outl(TSVMM_PORT_RESULT, (uint32_t)(uintptr_t)r);
	return ok;
}

/* --- interrupts */

#ifdef __x86_64__
struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};
struct trap_frame {
	unsigned long r15, r14, r13, r12, r11, r10, r9, r8, di, si, bp, bx, dx, cx, ax;
	unsigned long vector, error, ip, cs, flags, sp, ss;
};
#else
struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
};
struct trap_frame {
	unsigned long di, si, bp, sp0, bx, dx, cx, ax;
	unsigned long vector, error, ip, cs, flags;
};
#endif

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_t irq_handlers[256];
extern char isr_stubs[];
volatile unsigned spurious_irqs;

void idt_init(void)
{
	static volatile int built;
	if (!built) {
		for (unsigned v = 0; v < 256; v++) {
			uintptr_t a = (uintptr_t)(isr_stubs + 16 * v);
			struct idt_gate *g = &idt[v];
			g->off_lo = (uint16_t)a;
			g->sel = 0x08;
			g->type = 0x8e; /* present, DPL 0, interrupt gate */
#ifdef __x86_64__
			g->off_mid = (uint16_t)(a >> 16);
			g->off_hi = (uint32_t)((uint64_t)a >> 32);
#else
			g->off_hi = (uint16_t)(a >> 16);
#endif
		}
		built = 1;
	}
	struct __attribute__((packed)) {
		uint16_t limit;
		uintptr_t base;
	} ptr = {sizeof(idt) - 1, (uintptr_t)idt};
	__asm__ volatile("lidt %0" ::"m"(ptr));
}

void set_irq_handler(unsigned vector, irq_handler_t h) { irq_handlers[vector & 255] = h; }

void isr_dispatch(struct trap_frame *f)
{
	unsigned v = (unsigned)f->vector;
	if (v < 32) {
		/* A fault in the guest itself: say where, then stop the VM as crashed. */
		printk("cpu%u: exception %u error %lx at %lx\n", this_cpu(), v, f->error, f->ip);
		report("exception", 0, v, "vector %u error 0x%lx rip 0x%lx", v, f->error, f->ip);
		guest_exit(SHUTDOWN_crash);
	}
	if (irq_handlers[v]) {
		irq_handlers[v](v);
	} else {
		spurious_irqs++;
		lapic_eoi();
	}
}

/* --- local APIC (xAPIC MMIO) */

#define APIC_TPR 0x80
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0

void lapic_init(void)
{
	lapic_write(APIC_TPR, 0);
	lapic_write(APIC_SVR, 0x100 | 0xff); /* software enable, spurious vector 0xff */
}

void lapic_eoi(void) { lapic_write(APIC_EOI, 0); }

/* --- barrier and time */

static volatile unsigned barrier_arrived;
static volatile unsigned barrier_generation;

void cpu_barrier(unsigned ncpus)
{
	unsigned gen = barrier_generation;
	if (__atomic_add_fetch(&barrier_arrived, 1, __ATOMIC_SEQ_CST) == ncpus) {
		barrier_arrived = 0;
		__atomic_add_fetch(&barrier_generation, 1, __ATOMIC_SEQ_CST);
		return;
	}
	while (barrier_generation == gen) cpu_relax();
}

uint64_t tsc_per_ms = 1000000; /* 1 GHz until xen_detect() reads the Xen time leaf */

uint64_t deadline_ms(unsigned ms) { return rdtsc() + (uint64_t)ms * tsc_per_ms; }

int time_before_deadline(uint64_t deadline) { return (int64_t)(rdtsc() - deadline) < 0; }

volatile int hypercall_page_ready;

__attribute__((noreturn)) void guest_exit(unsigned reason)
{
	struct sched_shutdown s = {.reason = reason};
	if (hypercall_page_ready) HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
	/* No hypercall page or the VMM ignored us: an empty IDT and a trap make a triple fault. */
	struct __attribute__((packed)) {
		uint16_t limit;
		uintptr_t base;
	} none = {0, 0};
	__asm__ volatile("lidt %0; int3" ::"m"(none));
	for (;;) __asm__ volatile("cli; hlt");
}
