// The configuration of one VM run: what the machine layer (builder, machine, xen/) takes. It
// lives below cli/ so that the arrows point down; cli/config.ts parses and validates it.

/** How event channel events reach the guest. */
export type Delivery = 'kernel' | 'user' | 'auto'
/** Where the guest's 0xE9 console goes. */
export type ConsoleTarget = 'stdout' | 'stderr' | 'none' | { file: string }
/** How much tsvmm itself says on stderr. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug'

/** A Xen version as major.minor (what CPUID leaf base+1 and XENVER_version report). */
export interface XenVersion {
  major: number
  minor: number
}

/** Everything `tsvmm run` needs to start a VM. */
export interface RunConfig {
  /** Path of the guest image: an ELF built like tools/guests, or a Linux bzImage. */
  image: string
  /** A bzImage's initrd (an initramfs cpio). */
  initrd?: string
  /** A bzImage's kernel command line. */
  cmdline: string
  /** A guest reboot (i8042 reset, ACPI reset, triple fault) counts as a stop, exit 0. */
  noReboot: boolean
  /** Number of vCPUs, each on its own thread. */
  vcpus: number
  /** Guest RAM in MiB, at guest physical address 0. */
  memoryMiB: number
  /** The Xen version presented to the guest. */
  xenVersion: XenVersion
  /** Event channel delivery: in the kernel (KVM offload), in userspace, or kernel when possible. */
  delivery: Delivery
  /** Where the guest console goes. */
  console: ConsoleTarget
  /** tsvmm's own log level. */
  logLevel: LogLevel
  /** Bound of the whole run in seconds (0: none). */
  timeoutSec: number
  /** Stop when no vCPU has exited to tsvmm for this many seconds (0: off). */
  watchdogSec: number
  /** Print check results as JSON lines on stdout instead of text. */
  json: boolean
  /** The domain's uuid (XENVER_guest_handle, xenstore's /vm/<uuid>); resolved configs have one. */
  uuid?: string
  /**
   * Ask a Linux guest to power off through xenstore (control/shutdown) after this many seconds,
   * as SIGTERM does (0: never).
   */
  shutdownAfterSec?: number
}
