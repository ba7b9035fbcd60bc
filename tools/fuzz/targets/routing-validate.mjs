// validateRouting / checkRouting / encodeRouting / RoutingTable.add on random and hostile
// values: wrong types, throwing getters, proxies, null prototypes, near-valid entries with one
// field broken. Typed: RoutingError, or the HostileError a getter of the caller's own threw.
import {
  checkRouting,
  encodeRouting,
  RoutingError,
  RoutingTable,
  validateRouting,
} from '../../../packages/irq-routing/dist/index.js'
import { anyValue, HostileError, rng, tally } from '../harness.mjs'

function nearValid(r) {
  const base = r.pick([
    { gsi: 4, type: 'irqchip', irqchip: 2, pin: 4 },
    { gsi: 24, type: 'msi', addressLo: 0xfee00000, addressHi: 0, data: 0x41 },
    { gsi: 30, type: 'xenEvtchn', port: 3, vcpu: 0 },
    { gsi: 25, type: 'hvSint', vcpu: 0, sint: 2 },
  ])
  const e = r.chance(0.2) ? Object.assign(Object.create(null), base) : { ...base }
  if (r.chance(0.8)) e[r.pick([...Object.keys(base), 'flags', 'devid', 'priority'])] = anyValue(r)
  return e
}

export function run(count, seed) {
  const r = rng(seed)
  const t = tally('routing-validate', (e) => e instanceof RoutingError || e instanceof HostileError)
  const kernel = { setGsiRouting() {}, irqfd() {} }
  for (let i = 0; i < count; i++) {
    if (i === Math.floor(count / 10)) t.warm()
    const entries = r.chance(0.2)
      ? anyValue(r)
      : Array.from({ length: r.int(0, 4) }, () => (r.chance(0.8) ? nearValid(r) : anyValue(r)))
    const options = r.chance(0.7)
      ? {}
      : r.chance(0.5)
        ? anyValue(r)
        : { x2apicFormat: anyValue(r), msiDevid: anyValue(r), maxRoutes: anyValue(r) }
    switch (r.int(0, 4)) {
      case 0:
        t.input(() => validateRouting(entries, options))
        break
      case 1:
        t.input(() => {
          const err = checkRouting(entries, options)
          if (err !== undefined && !(err instanceof RoutingError))
            t.fail(`checkRouting returned ${typeof err}`)
        })
        break
      case 2:
        t.input(() => {
          const out = encodeRouting(entries, r.chance(0.3) ? anyValue(r) : undefined)
          if (!(out instanceof Uint8Array) || out.constructor !== Uint8Array)
            t.fail(`encodeRouting returned ${out?.constructor?.name}`)
        })
        break
      default:
        t.input(() => {
          const table = new RoutingTable(kernel, r.chance(0.8) ? {} : anyValue(r))
          for (const e of Array.isArray(entries) ? entries : [entries]) table.add(e)
        })
    }
  }
  t.report()
}
