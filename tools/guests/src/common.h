/*
 * Freestanding basics for the tsvmm guests: port I/O, CPUID, atomics, the console and results.
 * Built twice from the same source: -m64 (long mode) and -m32 (protected mode, Xen compat ABI).
 */
#ifndef GUEST_COMMON_H
#define GUEST_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

#define MAX_CPUS 8
#define STACK_SHIFT 14 /* 16 KiB per vCPU */
#define PAGE_SIZE 4096u
#define UPCALL_VECTOR 0xf3 /* Linux's HYPERVISOR_CALLBACK_VECTOR */
#define LAPIC_BASE 0xfee00000u

#define BITS_PER_LONG (sizeof(unsigned long) * 8)

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
/* sti's one-instruction shadow makes "sti; hlt" wait for an interrupt without a lost wake-up. */
static inline void safe_halt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint32_t lapic_read(uint32_t reg) { return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v; }

/* Atomic bit operations on little-endian bitmaps shared with the hypervisor (Linux's sync_*_bit). */
static inline int sync_test_and_set_bit(unsigned nr, volatile void *addr)
{
	unsigned char old;
	__asm__ volatile("lock btsl %2, %1; setc %0" : "=q"(old), "+m"(*(volatile uint32_t *)addr) : "r"(nr) : "memory");
	return old;
}
static inline int sync_test_and_clear_bit(unsigned nr, volatile void *addr)
{
	unsigned char old;
	__asm__ volatile("lock btrl %2, %1; setc %0" : "=q"(old), "+m"(*(volatile uint32_t *)addr) : "r"(nr) : "memory");
	return old;
}
static inline int test_bit(unsigned nr, const volatile void *addr)
{
	return (((const volatile uint8_t *)addr)[nr >> 3] >> (nr & 7)) & 1;
}

/* The vCPU this code runs on, from the stack it runs on (each vCPU has its own stack slot). */
extern char guest_stacks[];
static inline unsigned this_cpu(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	return (unsigned)((sp - (uintptr_t)guest_stacks) >> STACK_SHIFT);
}

/* runtime.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
/* n / d and n % d with 32-bit operations only: the 32-bit build has no libgcc to call. */
uint64_t udiv64(uint64_t n, uint32_t d, uint32_t *rem);
int snprintf_lite(char *buf, size_t size, const char *fmt, ...);
void printk(const char *fmt, ...);
/* Reports one named check to the VMM; returns ok. */
int report(const char *name, int ok, long detail, const char *fmt, ...);
void idt_init(void);
void lapic_init(void);
void lapic_eoi(void);
/* Spins until every online vCPU reached barrier `id` (ids increase by one each time). */
void cpu_barrier(unsigned ncpus);
/* Calibrated delay helpers: TSC ticks per millisecond, from the Xen time leaf (or a guess). */
extern uint64_t tsc_per_ms;
uint64_t deadline_ms(unsigned ms);
int time_before_deadline(uint64_t deadline);
/* Per-vector interrupt hook; the upcall vector calls it with interrupts off. */
typedef void (*irq_handler_t)(unsigned vector);
void set_irq_handler(unsigned vector, irq_handler_t h);
/* Ends the run: SCHEDOP_shutdown, or a triple fault if the hypercall returns. */
__attribute__((noreturn)) void guest_exit(unsigned reason);
/* Set once the hypercall page is installed: guest_exit() may use SCHEDOP_shutdown. */
extern volatile int hypercall_page_ready;
/* Each guest's C entry, called on every vCPU with its index (its APIC ID). */
void guest_main(unsigned cpu);
/* Counters of unexpected traps, for the final report. */
extern volatile unsigned spurious_irqs;

#endif
