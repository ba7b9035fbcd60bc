// `tsvmm caps`: what this host's KVM offers a Xen HVM guest, and which event channel paths can be
// offloaded to the kernel (and why not, where not). Also the delivery-mode decision `run` uses.
import type { CapabilityReport, XenHvmFeature } from '@tsvmm/kvm-sys'
import { VmmError } from '../errors.js'
import type { Delivery } from '../run-config.js'
import type { ActiveDelivery } from './events.js'

/** One line of the report: a feature, whether it is there, and what it is for. */
export interface CapabilityCheck {
  name: string
  present: boolean
  /** What tsvmm uses it for, or why it matters. */
  use: string
  /** Needed by every run (true) or only by kernel delivery (false). */
  required: 'always' | 'kernel' | 'optional'
}

/** An event channel path and whether the kernel can do it. */
export interface OffloadPath {
  path: string
  kernel: boolean
  /** Why not, when `kernel` is false. */
  why?: string
}

/** The whole report (`tsvmm caps --json` prints it). */
export interface CapsReport {
  kvm:
    | { available: true; apiVersion: number; xenHvmFlags: number }
    | { available: false; error: string; hint?: string }
  checks: CapabilityCheck[]
  offload: OffloadPath[]
  /** What `--delivery auto` picks here, or null when no VM can run. */
  autoDelivery: ActiveDelivery | null
  /** Why no VM can run, if that is so. */
  blocker?: string
}

const XEN = (f: XenHvmFeature) => (r: CapabilityReport) => r.xenHvm.features[f]
const CAP = (c: keyof CapabilityReport['capabilities']) => (r: CapabilityReport) =>
  r.capabilities[c] > 0

const CHECKS: {
  name: string
  has: (r: CapabilityReport) => boolean
  use: string
  required: CapabilityCheck['required']
}[] = [
  {
    name: 'KVM_CAP_XEN_HVM',
    has: (r) => r.xenHvm.flags !== 0,
    use: 'Xen HVM emulation at all',
    required: 'always',
  },
  {
    name: 'XEN_HVM INTERCEPT_HCALL',
    has: XEN('INTERCEPT_HCALL'),
    use: 'hypercalls exit to tsvmm (KVM_EXIT_XEN)',
    required: 'always',
  },
  {
    name: 'XEN_HVM HYPERCALL_MSR',
    has: XEN('HYPERCALL_MSR'),
    use: 'the guest installs its hypercall page by MSR',
    required: 'always',
  },
  {
    name: 'XEN_HVM SHARED_INFO',
    has: XEN('SHARED_INFO'),
    use: 'KVM keeps pvclock time in vcpu_info',
    required: 'always',
  },
  {
    name: 'KVM_CAP_SPLIT_IRQCHIP',
    has: CAP('SPLIT_IRQCHIP'),
    use: 'local APICs in the kernel for upcall vectors',
    required: 'always',
  },
  {
    name: 'KVM_CAP_SIGNAL_MSI',
    has: CAP('SIGNAL_MSI'),
    use: 'userspace upcall injection',
    required: 'always',
  },
  {
    name: 'KVM_CAP_ADJUST_CLOCK',
    has: CAP('ADJUST_CLOCK'),
    use: 'timers on the guest pvclock (KVM_GET_CLOCK)',
    required: 'optional',
  },
  {
    name: 'KVM_CAP_GET_TSC_KHZ',
    has: CAP('GET_TSC_KHZ'),
    use: 'TSC frequency in the Xen time leaf',
    required: 'optional',
  },
  {
    name: 'XEN_HVM EVTCHN_2LEVEL',
    has: XEN('EVTCHN_2LEVEL'),
    use: 'KVM raises 2-level ports itself',
    required: 'kernel',
  },
  {
    name: 'XEN_HVM EVTCHN_SEND',
    has: XEN('EVTCHN_SEND'),
    use: 'KVM_XEN_HVM_EVTCHN_SEND, in-kernel EVTCHNOP_send, timers, per-vCPU vectors',
    required: 'kernel',
  },
  {
    name: 'KVM_CAP_IRQ_ROUTING',
    has: CAP('IRQ_ROUTING'),
    use: 'XEN_EVTCHN GSI routes',
    required: 'kernel',
  },
  {
    name: 'KVM_CAP_IRQFD',
    has: CAP('IRQFD'),
    use: 'device backends raise ports through eventfds',
    required: 'kernel',
  },
]

/** Builds the report from kvm-sys's capability report. */
export function capsReport(r: CapabilityReport): CapsReport {
  const checks = CHECKS.map((c) => ({
    name: c.name,
    present: c.has(r),
    use: c.use,
    required: c.required,
  }))
  const missing = (req: CapabilityCheck['required']) =>
    checks.filter((c) => c.required === req && !c.present).map((c) => c.name)
  const base = missing('always')
  const kernel = missing('kernel')
  const f = r.xenHvm.features
  const lacks = (...names: XenHvmFeature[]) => {
    const gone = names.filter((n) => !f[n])
    return gone.length === 0
      ? undefined
      : `KVM lacks ${gone.map((n) => `KVM_XEN_HVM_CONFIG_${n}`).join(', ')}`
  }
  const path = (name: string, why: string | undefined): OffloadPath =>
    why === undefined ? { path: name, kernel: true } : { path: name, kernel: false, why }
  const offload = [
    path(
      'device -> guest through irqfd (XEN_EVTCHN GSI route)',
      lacks('EVTCHN_2LEVEL') ??
        (r.capabilities.IRQFD > 0 && r.capabilities.IRQ_ROUTING > 0
          ? undefined
          : 'KVM lacks KVM_CAP_IRQFD or KVM_CAP_IRQ_ROUTING'),
    ),
    path('VMM -> guest (KVM_XEN_HVM_EVTCHN_SEND)', lacks('EVTCHN_2LEVEL', 'EVTCHN_SEND')),
    path('guest EVTCHNOP_send on IPI and loopback ports', lacks('EVTCHN_SEND')),
    path('VIRQ_TIMER (set_timer_op, singleshot timer)', lacks('EVTCHN_SEND')),
    path('SCHEDOP_poll', lacks('EVTCHN_SEND')),
    path('per-vCPU upcall vector injection', lacks('EVTCHN_SEND')),
    path('runstate areas', lacks('RUNSTATE')),
  ]
  const blocker = base.length > 0 ? `KVM lacks ${base.join(', ')}` : undefined
  return {
    kvm: { available: true, apiVersion: r.apiVersion, xenHvmFlags: r.xenHvm.flags },
    checks,
    offload,
    autoDelivery: blocker !== undefined ? null : kernel.length === 0 ? 'kernel' : 'user',
    ...(blocker !== undefined && { blocker }),
  }
}

/** The delivery mode for a run, or a VmmError saying what the host lacks. */
export function chooseDelivery(report: CapsReport, requested: Delivery): ActiveDelivery {
  if (report.blocker !== undefined)
    throw new VmmError(
      'kvm',
      `this KVM cannot run Xen guests: ${report.blocker}`,
      'see `tsvmm caps`',
    )
  const kernelMissing = report.checks
    .filter((c) => c.required === 'kernel' && !c.present)
    .map((c) => c.name)
  if (requested === 'user') return 'user'
  if (requested === 'kernel') {
    if (kernelMissing.length > 0)
      throw new VmmError(
        'kvm',
        `--delivery kernel: this KVM lacks ${kernelMissing.join(', ')}`,
        'use --delivery user or auto (see `tsvmm caps`)',
      )
    return 'kernel'
  }
  return kernelMissing.length === 0 ? 'kernel' : 'user'
}

/** The report as text. */
export function formatCaps(report: CapsReport): string {
  const lines: string[] = []
  if (!report.kvm.available) {
    lines.push(`KVM: not available: ${report.kvm.error}`)
    if (report.kvm.hint) lines.push(`hint: ${report.kvm.hint}`)
    return lines.join('\n')
  }
  lines.push(
    `KVM: API ${report.kvm.apiVersion}, KVM_CAP_XEN_HVM 0x${report.kvm.xenHvmFlags.toString(16)}`,
  )
  lines.push('')
  lines.push('capabilities:')
  for (const c of report.checks)
    lines.push(
      `  ${c.present ? 'yes' : 'NO '}  ${c.name.padEnd(26)} ${c.use}${c.required === 'kernel' ? ' [kernel delivery]' : c.required === 'always' ? ' [required]' : ''}`,
    )
  lines.push('')
  lines.push('event channel paths in the kernel:')
  for (const o of report.offload)
    lines.push(`  ${o.kernel ? 'yes' : 'no '}  ${o.path}${o.why ? ` (${o.why})` : ''}`)
  lines.push('')
  if (report.blocker) lines.push(`no Xen guest can run here: ${report.blocker}`)
  else lines.push(`--delivery auto picks: ${report.autoDelivery}`)
  return lines.join('\n')
}
