// `tsvmm caps [--json]`.

import { openKvm } from '../builder.js'
import { EXIT, VmmError } from '../errors.js'
import { type CapsReport, capsReport, formatCaps } from '../xen/caps.js'
import type { Streams } from './report.js'

/** Prints the capability report; exit 0 when Xen guests can run, 4 when they cannot. */
export function capsCommand(json: boolean, streams: Streams): number {
  let report: CapsReport
  try {
    const kvm = openKvm()
    try {
      report = capsReport(kvm.capabilities())
    } finally {
      kvm.close()
    }
  } catch (e) {
    if (!(e instanceof VmmError)) throw e
    report = {
      kvm: { available: false, error: e.message, ...(e.hint !== undefined && { hint: e.hint }) },
      checks: [],
      offload: [],
      autoDelivery: null,
      blocker: e.message,
    }
  }
  streams.stdout(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatCaps(report)}\n`)
  return report.blocker === undefined ? EXIT.OK : EXIT.NO_KVM
}
