// The help texts of `tsvmm` and its commands.
import { DEFAULTS, LIMITS } from './config.js'

/** Usage texts, by topic. */
export const USAGE = {
  main: `usage: tsvmm <command> [options]

A VMM for Xen HVM guests on Linux KVM, with Xen event channels in the kernel or in userspace.

commands:
  caps [--json]          what this host's KVM offers for Xen guests, and what it cannot do
  run <image> [options]  boot a guest: an ELF built like tools/guests, or a Linux bzImage
                         (--kernel, --initrd, --cmdline); see 'tsvmm help run'
  demo [options]         build-free demo: the demo guest in every delivery mode and width
  help [command]         this text, or a command's

options:
  -h, --help             help
  -V, --version          print the version

exit codes: 0 guest done, no failed check; 1 a check failed or the guest crashed; 2 bad flags,
config or image; 3 the VM failed (triple fault, timeout); 4 KVM missing or lacking; 130 Ctrl-C
(Ctrl-] when stdin is the guest's console)`,
  run: `usage: tsvmm run [<image>] [options]

options (flags override the config file, which overrides the defaults):
  --config <file>        a JSON config: { "image", "kernel", "initrd", "cmdline", "noReboot",
                         "vcpus", "memory", "xenVersion", "delivery", "console", "logLevel",
                         "timeout", "watchdog", "json", "uuid", "shutdownAfter" }
  --image <path>         the guest ELF image (or give it as the first argument)
  --kernel <bzImage>     boot Linux (bzImage, 64-bit boot protocol) as a Xen HVM guest;
                         its serial port (ttyS0) goes to the console; ACPI power-off ends the run
  --initrd <cpio>        the initramfs for --kernel
  --cmdline <text>       the kernel command line (default '${DEFAULTS.cmdline}')
  --no-reboot            a guest reboot stops the VM with exit 0 (else it is exit 1)
  --vcpus <n>            vCPUs, each on its own thread (default ${DEFAULTS.vcpus}, max ${LIMITS.vcpus.max})
  --memory <size>        guest RAM: MiB, or 64M / 1G (default ${DEFAULTS.memoryMiB}M)
  --xen-version <x.y>    Xen version presented to the guest (default ${DEFAULTS.xenVersion.major}.${DEFAULTS.xenVersion.minor})
  --delivery <mode>      event channel delivery: kernel, user or auto (default ${DEFAULTS.delivery})
  --console <where>      guest console: stdout, stderr, none or file:<path> (default ${DEFAULTS.console})
  --log-level <level>    error, warn, info or debug (default ${DEFAULTS.logLevel})
  --timeout <s>          stop the VM s seconds after its vCPUs started (default none)
  --watchdog <s>         stop the VM when no vCPU exits to tsvmm for s seconds (default off)
  --json                 print check results as JSON lines
  --uuid <uuid>          the domain's uuid (Linux: /sys/hypervisor/uuid; default a random one)
  --shutdown-after <s>   ask a Linux guest to power off after s seconds, through xenstore's
                         control/shutdown (as SIGTERM does; a second signal stops it hard)

stdin: when it is a terminal and the guest has a PV console (a Linux guest's hvc0), the terminal
is the guest's, in raw mode: Ctrl-C goes to the guest, and Ctrl-] stops the VM (twice: at once).`,
  caps: `usage: tsvmm caps [--json]

Reports the KVM API, the capabilities tsvmm uses and the KVM_CAP_XEN_HVM features, and for each
event channel path whether the kernel can do it and why not where it cannot.`,
  demo: `usage: tsvmm demo [options]

Runs the demo guest (tools/guests/build) in each delivery mode and guest width, then boots Linux
(tools/linux-guest/build) as a Xen HVM guest in each delivery mode, and ends with
'N passed, N failed'. Without a usable /dev/kvm it starts itself inside tools/kvm-host.

options:
  --delivery <mode>      kernel, user or all (default all)
  --width <bits>         64, 32 or all (default all)
  --vcpus <n>            vCPUs of each VM (default 2)
  --fuzz                 also run the fuzz guest in each mode and width
  --no-linux             skip the Linux boots
  --timeout <s>          bound of each VM run (default 120)
  --here                 use this machine's /dev/kvm, never tools/kvm-host`,
} as const
