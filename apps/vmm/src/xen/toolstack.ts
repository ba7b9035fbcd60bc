// What a toolstack writes into xenstore when it creates an HVM domain, before the guest runs
// (libxl__domain_make and libxl__build_post in libxl, xen_xenstore_realize in QEMU 10's
// hw/i386/kvm/xen_xenstore.c): the domain's home /local/domain/<id> with its name, domid and the
// path of its /vm/<uuid> entry, the control/ nodes through which the toolstack asks for a
// shutdown and the guest says what it supports, and the directories frontends use. The domain
// reads its home but owns only what it must write (control/shutdown, the feature-* nodes, data/,
// device/ ...), as libxl's roperm/rwperm split gives it, so it cannot rewrite its own name or uuid.
import type { Xenstore, XsPerm } from '@tsvmm/xenstore'

/** The host side (xenstored's domain 0). */
const DOM0 = 0
/** No transaction. */
const XBT_NULL = 0

/** The domain a toolstack introduces. */
export interface DomainRecord {
  readonly domid: number
  readonly name: string
  /** The domain handle, canonical text form. */
  readonly uuid: string
  /** Guest RAM in KiB (memory/static-max and memory/target). */
  readonly memoryKiB: number
}

/**
 * The control/ nodes the guest owns: Linux's xenbus writes feature-poweroff, feature-reboot and
 * feature-suspend (drivers/xen/manage.c) and watches control/shutdown and control/sysrq.
 */
export const GUEST_CONTROL_NODES = [
  'shutdown',
  'sysrq',
  'feature-poweroff',
  'feature-reboot',
  'feature-suspend',
  'feature-s3',
  'feature-s4',
] as const

/** Nodes the guest owns outright (libxl's rwperm), relative to its home. */
const GUEST_OWNED = ['data', 'device', 'drivers', 'feature', 'attr', 'error'] as const

/** Fills `store` as a toolstack does for `d`; returns the domain's home path. */
export function introduceDomain(store: Xenstore, d: DomainRecord): string {
  const home = `/local/domain/${d.domid}`
  const vm = `/vm/${d.uuid}`
  // roperm: the toolstack owns the node, the guest may read it.
  const ro: XsPerm[] = [
    { access: 'n', domid: DOM0 },
    { access: 'r', domid: d.domid },
  ]
  // rwperm: the guest owns it (first entry: owner, and everyone else's access).
  const rw: XsPerm[] = [{ access: 'n', domid: d.domid }]
  const put = (path: string, value: string, perms: XsPerm[]) => {
    store.write(DOM0, XBT_NULL, path, value)
    store.setPerms(DOM0, XBT_NULL, path, perms)
  }
  put(vm, '', ro)
  put(`${vm}/uuid`, d.uuid, ro)
  put(`${vm}/name`, d.name, ro)
  put(home, '', ro)
  put(`${home}/vm`, vm, ro)
  put(`${home}/name`, d.name, ro)
  put(`${home}/domid`, String(d.domid), ro)
  put(`${home}/memory`, '', ro)
  put(`${home}/memory/static-max`, String(d.memoryKiB), ro)
  put(`${home}/memory/target`, String(d.memoryKiB), ro)
  put(`${home}/control`, '', ro)
  for (const node of GUEST_CONTROL_NODES) put(`${home}/control/${node}`, '', rw)
  // Read-only promises of the platform, as libxl and QEMU make them.
  put(`${home}/control/platform-feature-multiprocessor-suspend`, '1', ro)
  put(`${home}/control/platform-feature-xs_reset_watches`, '1', ro)
  for (const node of GUEST_OWNED) put(`${home}/${node}`, '', rw)
  return home
}
