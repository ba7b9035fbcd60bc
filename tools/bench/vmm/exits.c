/*
 * exits.c - the C baseline of apps/vmm/bench/exits.bench.mjs: the same guest image
 * (tools/guests/build/bench32.elf, an endless `out` to port 0x518) on the same KVM setup as
 * tsvmm (split irqchip, 32-bit flat protected mode, one vCPU), handled by a plain KVM_RUN loop.
 * Prints "exits=<n> ms=<t>" for the measuring window after a warm-up.
 *
 *   exits <image.elf> <warmup-ms> <measure-ms>
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RAM (64u << 20)
#define BENCH_PORT 0x518

static void die(const char *what)
{
	fprintf(stderr, "exits: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Loads the PT_LOAD segments of an ELF32 image; returns its entry point. */
static uint32_t load_elf32(const char *path, uint8_t *ram)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0) die(path);
	struct stat st;
	if (fstat(fd, &st) < 0) die("fstat");
	uint8_t *f = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f == MAP_FAILED) die("mmap image");
	Elf32_Ehdr *eh = (Elf32_Ehdr *)f;
	if ((size_t)st.st_size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS32 || eh->e_phoff + eh->e_phnum * sizeof(Elf32_Phdr) > (size_t)st.st_size) {
		fprintf(stderr, "exits: %s is not an ELF32 image\n", path);
		exit(1);
	}
	Elf32_Phdr *ph = (Elf32_Phdr *)(f + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD) continue;
		if (ph[i].p_paddr + ph[i].p_memsz > RAM || ph[i].p_offset + ph[i].p_filesz > (size_t)st.st_size) {
			fprintf(stderr, "exits: segment %d does not fit\n", i);
			exit(1);
		}
		memcpy(ram + ph[i].p_paddr, f + ph[i].p_offset, ph[i].p_filesz);
	}
	uint32_t entry = eh->e_entry;
	munmap(f, st.st_size);
	close(fd);
	return entry;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: exits <image.elf> <warmup-ms> <measure-ms>\n");
		return 2;
	}
	double warmup = atof(argv[2]), measure = atof(argv[3]);
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) die("/dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0) die("KVM_CREATE_VM");
	struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};
	if (ioctl(vm, KVM_ENABLE_CAP, &cap) < 0) die("KVM_CAP_SPLIT_IRQCHIP");
	uint8_t *ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED) die("mmap ram");
	struct kvm_userspace_memory_region region = {.slot = 0, .guest_phys_addr = 0, .memory_size = RAM,
						     .userspace_addr = (uintptr_t)ram};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die("KVM_SET_USER_MEMORY_REGION");
	uint32_t entry = load_elf32(argv[1], ram);

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	if (vcpu < 0) die("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) die("mmap kvm_run");
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
	struct kvm_segment code = {.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 0xb, .present = 1,
				   .db = 1, .s = 1, .g = 1};
	struct kvm_segment data = code;
	data.selector = 0x10;
	data.type = 0x3;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr0 = 0x31; /* PE | ET | NE */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");
	struct kvm_regs regs = {.rip = entry, .rflags = 0x2};
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");

	uint64_t exits = 0, start_exits = 0;
	double t0 = now_ms(), start = -1, t = t0;
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) die("KVM_RUN");
		if (run->exit_reason != KVM_EXIT_IO || run->io.port != BENCH_PORT ||
		    run->io.direction != KVM_EXIT_IO_OUT) {
			fprintf(stderr, "exits: unexpected exit %u (port 0x%x)\n", run->exit_reason, run->io.port);
			return 1;
		}
		exits++;
		if ((exits & 255) == 0) {
			t = now_ms();
			if (start < 0 && t - t0 >= warmup) {
				start = t;
				start_exits = exits;
			} else if (start >= 0 && t - start >= measure) {
				break;
			}
		}
	}
	printf("exits=%llu ms=%.3f\n", (unsigned long long)(exits - start_exits), t - start);
	return 0;
}
