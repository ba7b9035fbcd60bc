// What a VMM keeps of its GSI routing: the table KVM has (committed) and the one being edited
// (staged), GSI allocation, and the irqfds bound to GSIs. KVM_SET_GSI_ROUTING replaces the whole
// table, so every commit sends all routes; a rejected commit leaves KVM's previous table in force
// and this model returns to it. irqfds are assigned only once their route is in KVM, and
// deassigned before their route leaves it. Both tables are kept encoded (encoded-table.ts): an
// edit rewrites the entries it touches, and the staged bytes are always ready to send.

import { describe } from './describe.js'
import { EncodedTable } from './encoded-table.js'
import { entryShapeError, type RoutingEntry } from './entry.js'
import { RoutingError } from './errors.js'
import { defaultIrqchipRoutes, LEGACY_GSI_COUNT } from './legacy.js'
import {
  type AcceptedRoute,
  entryRuleError,
  type ResolvedValidateOptions,
  resolveValidateOptions,
  sharedGsiError,
  type ValidateOptions,
} from './validate.js'

/** One KVM_IRQFD call: bind (or unbind, with `deassign`) an eventfd to a GSI. */
export interface IrqfdRequest {
  /** The eventfd. */
  fd: number
  /** kvm_irqfd.gsi: the GSI the eventfd raises. */
  gsi: number
  /** KVM_IRQFD_FLAG_DEASSIGN */
  deassign: boolean
  /** With KVM_IRQFD_FLAG_RESAMPLE: the eventfd signalled when a level interrupt is EOIed. */
  resampleFd?: number
}

/**
 * The kernel side of a RoutingTable: a VMM passes an adapter over its VM file descriptor;
 * unit tests pass a test double. Both methods throw when the ioctl fails.
 */
export interface RoutingKernel {
  /** KVM_SET_GSI_ROUTING with the encoded `struct kvm_irq_routing`. */
  setGsiRouting(table: Uint8Array): void
  /** KVM_IRQFD */
  irqfd(request: IrqfdRequest): void
}

/** How the table is set up. */
export interface RoutingTableOptions extends ValidateOptions {
  /**
   * What KVM holds before the first commit. KVM_CREATE_IRQCHIP installs the default PIC and
   * IOAPIC routes (`'default'`, the default with `irqchip: 'kernel'`); a split irqchip starts
   * empty (`'empty'`, the default with `irqchip: 'split'`).
   */
  initial?: 'default' | 'empty'
}

interface Irqfd {
  fd: number
  gsi: number
  resampleFd: number | undefined
  /** true once KVM_IRQFD has bound it */
  assigned: boolean
}

/**
 * The GSI routing table of one VM. Edits (`add`, `replace`, `remove`, `releaseGsi`) are staged
 * and checked against KVM's rules at once; `commit` sends the whole staged table with
 * KVM_SET_GSI_ROUTING. If the kernel rejects it, the staged edits are dropped
 * and the table is again what KVM has.
 */
export class RoutingTable {
  readonly #kernel: RoutingKernel
  readonly #options: ResolvedValidateOptions
  /** what KVM has */
  readonly #committed = new EncodedTable()
  /** being edited */
  readonly #staged = new EncodedTable()
  #dirty = false
  /** GSIs handed out by allocateGsi and not yet released */
  readonly #allocated = new Set<number>()
  readonly #irqfds: Irqfd[] = []

  /** `kernel` receives the ioctls; `options` are the validator's, plus the initial table. */
  constructor(kernel: RoutingKernel, options: RoutingTableOptions = {}) {
    this.#kernel = kernel
    this.#options = resolveValidateOptions(options)
    const initial = options.initial ?? (this.#options.irqchip === 'kernel' ? 'default' : 'empty')
    if (initial !== 'default' && initial !== 'empty') {
      throw new RoutingError('options', `initial ${describe(initial)} is not 'default' or 'empty'`)
    }
    if (initial === 'default') {
      // already in GSI order
      for (const route of defaultIrqchipRoutes()) {
        this.#committed.insert(this.#committed.count, route)
      }
    }
    this.#staged.copyFrom(this.#committed)
  }

  /** The most routes (and the GSI limit) this table accepts. */
  get maxRoutes(): number {
    return this.#options.maxRoutes
  }

  /** True when staged edits wait for `commit`. */
  get dirty(): boolean {
    return this.#dirty
  }

  /** Number of staged routes. */
  get size(): number {
    return this.#staged.count
  }

  /**
   * Reserves the lowest GSI at or above 24 (0-23 are the legacy irqchip pins) that is neither
   * allocated nor routed. A RoutingError `ENOSPC` when every GSI below maxRoutes is taken.
   */
  allocateGsi(): number {
    for (let gsi = LEGACY_GSI_COUNT; gsi < this.#options.maxRoutes; gsi++) {
      if (!this.#allocated.has(gsi) && !this.#staged.has(gsi) && !this.#committed.has(gsi)) {
        this.#allocated.add(gsi)
        return gsi
      }
    }
    throw new RoutingError(
      'gsi-exhausted',
      `no free GSI below ${this.#options.maxRoutes}`,
      undefined,
      'ENOSPC',
    )
  }

  /**
   * Gives `gsi` back to the allocator and stages the removal of its routes (its irqfds are
   * deassigned at the next commit, before the routes go). The number is reused only once
   * KVM no longer has routes on it.
   */
  releaseGsi(gsi: number): void {
    this.#allocated.delete(gsi)
    if (this.#staged.has(gsi)) this.remove(gsi)
  }

  /**
   * Stages one more route. Checked at once against KVM's rules and the routes staged on the
   * same GSI; a RoutingError names the broken rule and nothing is staged then.
   */
  add(entry: RoutingEntry): void {
    const shape = entryShapeError(entry, undefined)
    if (shape) throw shape
    const [start, end] = this.#staged.range(entry.gsi)
    this.#checked(entry, this.#staged.entries(start, end), this.#staged.count + 1)
    this.#staged.insert(end, entry)
    this.#dirty = true
  }

  /**
   * Stages `entries` as the only routes of `gsi` (each must carry that gsi). Irqfds on the GSI
   * stay bound: KVM moves them to the new routes. All or nothing.
   */
  replace(gsi: number, entries: readonly RoutingEntry[]): void {
    if (!Array.isArray(entries)) {
      throw new RoutingError('entry-shape', `replace(${describe(gsi)}) needs an array of routes`)
    }
    if (entries.length === 0) {
      this.remove(gsi)
      return
    }
    const [start, end] = this.#staged.range(gsi)
    const previous = end - start
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as RoutingEntry
      if (entry?.gsi !== gsi) {
        throw new RoutingError(
          'entry-shape',
          `replace(${describe(gsi)}) got a route for GSI ${describe(entry?.gsi)}`,
        )
      }
      this.#checked(entry, entries.slice(0, i), this.#staged.count - previous + i + 1, i)
    }
    // The usual change (an MSI vector moves, a port is rebound) keeps the count: rewrite in place
    const kept = Math.min(previous, entries.length)
    for (let i = 0; i < kept; i++) this.#staged.write(start + i, entries[i] as RoutingEntry)
    this.#staged.remove(start + kept, end)
    for (let i = kept; i < entries.length; i++) {
      this.#staged.insert(start + i, entries[i] as RoutingEntry)
    }
    this.#dirty = true
  }

  /** Stages the removal of every route of `gsi`; a no-op for an unrouted GSI. */
  remove(gsi: number): void {
    const [start, end] = this.#staged.range(gsi)
    if (start === end) return
    this.#staged.remove(start, end)
    this.#dirty = true
  }

  /** Staged routes: of one GSI, or all of them ordered by GSI. Copies, as decodeRouting returns. */
  routes(gsi?: number): RoutingEntry[] {
    return routesOf(this.#staged, gsi)
  }

  /** What KVM has: the routes of the last successful commit (or the initial table). */
  committedRoutes(gsi?: number): RoutingEntry[] {
    return routesOf(this.#committed, gsi)
  }

  /**
   * The staged table as `struct kvm_irq_routing`: a view of the buffer the table keeps it in,
   * ready for KVM_SET_GSI_ROUTING at no cost. Read-only, and valid until the next edit: copy it
   * (`slice()`) to keep it.
   */
  encode(): Uint8Array {
    return this.#staged.bytes()
  }

  /**
   * Sends the staged table to KVM (KVM_SET_GSI_ROUTING replaces the whole table). Order:
   * deassign irqfds of GSIs that lose every route, set the table, then assign irqfds waiting for
   * their route. If the kernel rejects the table, the deassigned irqfds are bound
   * again, the staged edits are dropped and the error (RoutingError, or the kernel's) is thrown:
   * KVM and this model keep the previous table. If only an irqfd assignment fails afterwards,
   * the table stays committed, that irqfd is dropped and the first such error is thrown.
   */
  commit(): void {
    if (!this.#dirty) {
      this.#assignWaiting()
      return
    }
    // No whole-table validation here: every edit was checked when it was staged, against the
    // routes of its GSI and the count, so the staged table is one KVM accepts.
    const bytes = this.encode()
    const leaving = this.#irqfds.filter((f) => f.assigned && !this.#staged.has(f.gsi))
    const unbound: Irqfd[] = []
    try {
      for (const f of leaving) {
        this.#kernel.irqfd(request(f, true))
        f.assigned = false
        unbound.push(f)
      }
      this.#kernel.setGsiRouting(bytes)
    } catch (error) {
      for (const f of unbound) {
        try {
          this.#kernel.irqfd(request(f, false))
          f.assigned = true
        } catch {
          // the route stays in KVM but its eventfd can no longer be bound: forget it
          this.#forget(f)
        }
      }
      this.#rollback()
      throw error
    }
    for (const f of unbound) this.#forget(f)
    this.#committed.copyFrom(this.#staged)
    this.#dirty = false
    this.#assignWaiting()
  }

  /**
   * Binds eventfd `fd` to `gsi` (KVM_IRQFD). `gsi` must have a staged route. If KVM already has
   * a route on it the irqfd is assigned now, otherwise at the next successful commit. A fd can be
   * bound once per VM (KVM answers EBUSY otherwise): RoutingError `EBUSY`.
   */
  attachIrqfd(gsi: number, fd: number, options: { resampleFd?: number } = {}): void {
    checkFd('fd', fd)
    if (typeof options !== 'object' || options === null) {
      throw new RoutingError('options', `irqfd options ${describe(options)} is not an object`)
    }
    if (options.resampleFd !== undefined) checkFd('resampleFd', options.resampleFd)
    if (!this.#staged.has(gsi)) {
      throw new RoutingError(
        'gsi-unrouted',
        `GSI ${gsi} has no route for an irqfd`,
        undefined,
        'ENOENT',
      )
    }
    if (this.#irqfds.some((f) => f.fd === fd)) {
      throw new RoutingError('irqfd-exists', `eventfd ${fd} is already bound`, undefined, 'EBUSY')
    }
    const f: Irqfd = { fd, gsi, resampleFd: options.resampleFd, assigned: false }
    if (this.#committed.has(gsi)) {
      this.#kernel.irqfd(request(f, false))
      f.assigned = true
    }
    this.#irqfds.push(f)
  }

  /** Unbinds eventfd `fd` from `gsi` now (KVM_IRQFD with DEASSIGN), or drops it if still waiting. */
  detachIrqfd(gsi: number, fd: number): void {
    const f = this.#irqfds.find((x) => x.gsi === gsi && x.fd === fd)
    if (!f) {
      throw new RoutingError(
        'irqfd-unknown',
        `eventfd ${fd} is not bound to GSI ${gsi}`,
        undefined,
        'ENOENT',
      )
    }
    if (f.assigned) this.#kernel.irqfd(request(f, true))
    this.#forget(f)
  }

  /** The irqfds of the table: bound in KVM (`assigned`) or waiting for their route. */
  irqfds(): {
    /** kvm_irqfd.fd: the eventfd. */
    fd: number
    /** kvm_irqfd.gsi: the GSI it raises. */
    gsi: number
    /** kvm_irqfd.resamplefd (KVM_IRQFD_FLAG_RESAMPLE): signalled when the level IRQ is EOIed. */
    resampleFd?: number
    /** True once KVM_IRQFD has bound it; false while its route is not yet committed. */
    assigned: boolean
  }[] {
    return this.#irqfds.map((f) =>
      f.resampleFd === undefined
        ? { fd: f.fd, gsi: f.gsi, assigned: f.assigned }
        : { fd: f.fd, gsi: f.gsi, resampleFd: f.resampleFd, assigned: f.assigned },
    )
  }

  /**
   * `entry` checked on its own and against `onGsi` (the other routes its GSI will carry) in a
   * table of `count` routes; `index` is its position in the caller's list, if it has one.
   */
  #checked(
    entry: RoutingEntry,
    onGsi: readonly RoutingEntry[],
    count: number,
    index?: number,
  ): void {
    const shape = entryShapeError(entry, index)
    if (shape) throw shape
    const o = this.#options
    if (count > o.maxRoutes) {
      throw new RoutingError('table-size', `more than ${o.maxRoutes} routes (KVM_CAP_IRQ_ROUTING)`)
    }
    if (entry.gsi >= o.maxRoutes) {
      throw new RoutingError('gsi-range', `gsi ${entry.gsi} is not below ${o.maxRoutes}`, index)
    }
    const accepted: AcceptedRoute[] = onGsi.map((e) => ({ entry: e }))
    const error =
      (entry.type === 'msi' && entry.devid !== undefined && entryRuleError(entry, index, o)) ||
      sharedGsiError(entry, index, accepted) ||
      entryRuleError(entry, index, o)
    if (error) throw error
  }

  #assignWaiting(): void {
    let first: unknown
    for (const f of [...this.#irqfds]) {
      if (f.assigned || !this.#committed.has(f.gsi)) continue
      try {
        this.#kernel.irqfd(request(f, false))
        f.assigned = true
      } catch (error) {
        this.#forget(f)
        first ??= error
      }
    }
    if (first !== undefined) throw first
  }

  #rollback(): void {
    this.#staged.copyFrom(this.#committed)
    this.#dirty = false
    // irqfds waiting for a route that is no longer staged have nothing to wait for
    for (const f of [...this.#irqfds]) {
      if (!f.assigned && !this.#staged.has(f.gsi)) this.#forget(f)
    }
  }

  #forget(f: Irqfd): void {
    const i = this.#irqfds.indexOf(f)
    if (i >= 0) this.#irqfds.splice(i, 1)
  }
}

/** A file descriptor is a non-negative int; anything else would reach KVM_IRQFD as garbage. */
function checkFd(what: string, fd: unknown): void {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fff_ffff) {
    throw new RoutingError('irqfd-fd', `${what} ${describe(fd)} is not a file descriptor`)
  }
}

function request(f: Irqfd, deassign: boolean): IrqfdRequest {
  return f.resampleFd === undefined || deassign
    ? { fd: f.fd, gsi: f.gsi, deassign }
    : { fd: f.fd, gsi: f.gsi, deassign, resampleFd: f.resampleFd }
}

function routesOf(table: EncodedTable, gsi?: number): RoutingEntry[] {
  if (gsi === undefined) return table.entries()
  const [start, end] = table.range(gsi)
  return table.entries(start, end)
}
