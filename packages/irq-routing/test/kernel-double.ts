// A test double of the kernel side of RoutingTable: it decodes every KVM_SET_GSI_ROUTING,
// keeps the table and the irqfd bindings it would have, logs every call, can be told to fail,
// and records any ordering violation (an irqfd on a GSI without a route).
import {
  decodeRouting,
  type IrqfdRequest,
  type RoutingEntry,
  type RoutingKernel,
} from '../src/index.js'

/** An error shaped like kvm-sys's KvmError. */
export class FakeKvmError extends Error {
  constructor(
    readonly code: string,
    readonly ioctl: string,
  ) {
    super(`${ioctl}: ${code}`)
  }
}

export class KernelDouble implements RoutingKernel {
  /** What "KVM" holds now. */
  table: RoutingEntry[]
  /** fd -> gsi of the bound irqfds */
  readonly irqfdBindings = new Map<number, number>()
  readonly log: string[] = []
  readonly violations: string[] = []
  /** Errors the next calls throw (consumed in order). */
  failSet: Error[] = []
  failIrqfd: Error[] = []

  constructor(initial: RoutingEntry[] = []) {
    this.table = initial
  }

  setGsiRouting(bytes: Uint8Array): void {
    const entries = decodeRouting(bytes)
    this.log.push(`set ${entries.length}`)
    const failure = this.failSet.shift()
    if (failure) throw failure
    this.table = entries
    for (const [fd, gsi] of this.irqfdBindings) {
      if (!this.hasRoute(gsi))
        this.violations.push(`route of GSI ${gsi} left with irqfd ${fd} bound`)
    }
  }

  irqfd(r: IrqfdRequest): void {
    this.log.push(
      `${r.deassign ? 'deassign' : 'assign'} ${r.fd}@${r.gsi}${r.resampleFd === undefined ? '' : ` resample ${r.resampleFd}`}`,
    )
    const failure = this.failIrqfd.shift()
    if (failure) throw failure
    if (r.deassign) {
      if (this.irqfdBindings.get(r.fd) !== r.gsi) throw new FakeKvmError('ENOENT', 'KVM_IRQFD')
      this.irqfdBindings.delete(r.fd)
      return
    }
    if (this.irqfdBindings.has(r.fd)) throw new FakeKvmError('EBUSY', 'KVM_IRQFD')
    if (!this.hasRoute(r.gsi))
      this.violations.push(`irqfd ${r.fd} assigned before GSI ${r.gsi} has a route`)
    this.irqfdBindings.set(r.fd, r.gsi)
  }

  hasRoute(gsi: number): boolean {
    return this.table.some((e) => e.gsi === gsi)
  }
}
