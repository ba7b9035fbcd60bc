/* C baseline of the kvm-sys benchmark: the KVM_RUN loop of a real-mode guest that does OUT
 * to port 0x10 forever (N per pass, then HLT and the VMM restarts it). Prints
 * {"exits": n, "seconds": s} for a run of the given length. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	/* mov cx, 0xffff; mov dx, 0x10; l: out dx, al; inc al; loop l; hlt */
	const uint8_t code[] = {0xb9, 0xff, 0xff, 0xba, 0x10, 0x00, 0xee, 0xfe, 0xc0, 0xe2, 0xfb, 0xf4};
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) die("open /dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0) die("KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(mem + 0x1000, code, sizeof(code));
	struct kvm_userspace_memory_region r = {.memory_size = 0x10000, .userspace_addr = (uintptr_t)mem};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0) die("KVM_SET_USER_MEMORY_REGION");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	if (vcpu < 0) die("KVM_CREATE_VCPU");
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	struct kvm_sregs s;
	ioctl(vcpu, KVM_GET_SREGS, &s);
	s.cs.base = s.ds.base = s.es.base = s.ss.base = 0;
	s.cs.selector = s.ds.selector = s.es.selector = s.ss.selector = 0;
	ioctl(vcpu, KVM_SET_SREGS, &s);
	struct kvm_regs regs = {.rip = 0x1000, .rflags = 2};
	ioctl(vcpu, KVM_SET_REGS, &regs);

	uint64_t exits = 0, sum = 0;
	double t0 = now(), t = t0;
	while (t - t0 < seconds) {
		if (ioctl(vcpu, KVM_RUN, 0UL) < 0) die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_IO) {
			sum += run->io.port + *((uint8_t *)run + run->io.data_offset);
			exits++;
			if ((exits & 1023) == 0) t = now();
		} else if (run->exit_reason == KVM_EXIT_HLT) {
			ioctl(vcpu, KVM_SET_REGS, &regs);
		} else {
			fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
			return 1;
		}
	}
	printf("{\"exits\": %llu, \"seconds\": %.6f, \"check\": %llu}\n", (unsigned long long)exits,
	       now() - t0, (unsigned long long)sum);
	return 0;
}
