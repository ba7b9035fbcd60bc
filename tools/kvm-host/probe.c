/*
 * probe: what this machine's KVM offers, seen from user space.
 * Prints the KVM API version, the vendor module and KVM_CAP_XEN_HVM decoded by flag name.
 * Exit: 0 when /dev/kvm opens and speaks API 12; 1 otherwise. With --require-xen, also 1 unless
 * KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL and _EVTCHN_SEND are offered (what tsvmm's Xen event channels
 * need); kvm-host uses that to decide whether a local /dev/kvm can replace the emulated host.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Flag values from the kernel's uapi; older headers lack the newest ones. */
#ifndef KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG
#define KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG (1 << 6)
#endif
#ifndef KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE
#define KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE (1 << 7)
#endif
#ifndef KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA
#define KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA (1 << 8)
#endif

static const struct {
	unsigned flag;
	const char *name;
} xen_flags[] = {
	{KVM_XEN_HVM_CONFIG_HYPERCALL_MSR, "HYPERCALL_MSR"},
	{KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL, "INTERCEPT_HCALL"},
	{KVM_XEN_HVM_CONFIG_SHARED_INFO, "SHARED_INFO"},
	{KVM_XEN_HVM_CONFIG_RUNSTATE, "RUNSTATE"},
	{KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL, "EVTCHN_2LEVEL"},
	{KVM_XEN_HVM_CONFIG_EVTCHN_SEND, "EVTCHN_SEND"},
	{KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG, "RUNSTATE_UPDATE_FLAG"},
	{KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE, "PVCLOCK_TSC_UNSTABLE"},
	{KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA, "SHARED_INFO_HVA"},
};

/* The vendor module behind /dev/kvm (kvm_amd, kvm_intel, or another such as kvm_pvm). */
static const char *vendor_module(void)
{
	static const char *mods[] = {"kvm_amd", "kvm_intel", "kvm_pvm"};
	char path[64];
	for (unsigned i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
		if (access(path, F_OK) == 0)
			return mods[i];
	}
	return "unknown";
}

int main(int argc, char **argv)
{
	int require_xen = argc > 1 && strcmp(argv[1], "--require-xen") == 0;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("/dev/kvm: cannot open: %s\n", strerror(errno));
		return 1;
	}
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	printf("KVM_GET_API_VERSION: %d%s\n", api, api == KVM_API_VERSION ? "" : " (expected 12)");
	printf("vendor module: %s\n", vendor_module());
	int xen = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);
	if (xen < 0)
		xen = 0;
	printf("KVM_CAP_XEN_HVM: 0x%x\n", (unsigned)xen);
	unsigned known = 0;
	for (unsigned i = 0; i < sizeof(xen_flags) / sizeof(xen_flags[0]); i++) {
		known |= xen_flags[i].flag;
		printf("  %-22s (1<<%2d) %s\n", xen_flags[i].name, __builtin_ctz(xen_flags[i].flag),
		       (unsigned)xen & xen_flags[i].flag ? "yes" : "no");
	}
	if ((unsigned)xen & ~known)
		printf("  unknown flags          0x%x\n", (unsigned)xen & ~known);
	close(kvm);
	if (api != KVM_API_VERSION)
		return 1;
	unsigned need = KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL | KVM_XEN_HVM_CONFIG_EVTCHN_SEND;
	if (require_xen && ((unsigned)xen & need) != need) {
		printf("Xen event channels (EVTCHN_2LEVEL, EVTCHN_SEND): not offered\n");
		return 1;
	}
	return 0;
}
