// XENVER_* (do_xen_version, xen/common/kernel.c): the version, build strings and features tsvmm
// presents. HVM guests see virt_start 0 and the features an HVM guest with a callback vector uses.
import { XENFEAT, XENVER, XenErrno } from '@tsvmm/xen-evtchn'
import type { GuestCopy } from './guest-copy.js'

const EFAULT = -XenErrno.EFAULT

/** What xen_version reports about the domain. */
export interface XenVersionInfo {
  /** major << 16 | minor. */
  readonly version: number
  /** The domain handle (xen_domain_handle_t, the VM's uuid): 16 bytes, zeros when absent. */
  readonly handle?: Uint8Array | undefined
}

/** xen_version(`cmd`, `argVa`) for a guest presented `info`. */
export function xenVersionOp(
  guest: GuestCopy,
  info: XenVersionInfo,
  cmd: number,
  argVa: bigint,
  longMode: boolean,
): number {
  switch (cmd) {
    case XENVER.version:
      return info.version
    case XENVER.extraversion:
      return guest.writeString(argVa, '.0-tsvmm', 16) ? 0 : EFAULT
    case XENVER.compile_info: {
      // struct xen_compile_info: compiler[64], compile_by[16], compile_domain[32], compile_date[32]
      const b = new Uint8Array(144)
      const put = (s: string, at: number, n: number) => {
        b.set(new TextEncoder().encode(s).subarray(0, n - 1), at)
      }
      put('tsvmm', 0, 64)
      put('tsvmm', 64, 16)
      put('tsvmm', 80, 32)
      return guest.write(argVa, b) ? 0 : EFAULT
    }
    case XENVER.capabilities:
      return guest.writeString(argVa, 'hvm-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p', 1024)
        ? 0
        : EFAULT
    case XENVER.changeset:
      return guest.writeString(argVa, 'tsvmm', 64) ? 0 : EFAULT
    case XENVER.platform_parameters: {
      // xen_platform_parameters.virt_start: an xen_ulong_t; HVM guests see 0.
      const size = longMode ? 8 : 4
      return guest.write(argVa, new Uint8Array(size)) ? 0 : EFAULT
    }
    case XENVER.get_features: {
      const fi = guest.read(argVa, 8)
      if (fi === null) return EFAULT
      const idx = fi.getUint32(0, true)
      let submap = 0
      if (idx === 0) for (const f of Object.values(XENFEAT)) submap |= 1 << f
      const out = new Uint8Array(8)
      const v = new DataView(out.buffer)
      v.setUint32(0, idx, true)
      v.setUint32(4, submap >>> 0, true)
      return guest.write(argVa, out) ? 0 : EFAULT
    }
    case XENVER.pagesize:
      return 4096
    case XENVER.guest_handle: {
      // Linux's /sys/hypervisor/uuid prints this (sys-hypervisor.c uuid_show, %pU).
      const handle = new Uint8Array(16)
      if (info.handle?.length === 16) handle.set(info.handle)
      return guest.write(argVa, handle) ? 0 : EFAULT
    }
    case XENVER.commandline:
      return guest.writeString(argVa, '', 1024) ? 0 : EFAULT
    default:
      return -XenErrno.ENOSYS
  }
}
