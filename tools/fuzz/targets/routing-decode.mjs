// decodeRouting on random bytes: random lengths, and headers whose count matches the length so
// that the entries themselves get decoded. Typed: RoutingError. A table that decodes must also
// survive encode -> decode unchanged.
import {
  decodeRouting,
  encodeRouting,
  RoutingError,
} from '../../../packages/irq-routing/dist/index.js'
import { rng, tally } from '../harness.mjs'

export function run(count, seed) {
  const r = rng(seed)
  const t = tally('routing-decode', (e) => e instanceof RoutingError)
  const json = (x) => JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))
  for (let i = 0; i < count; i++) {
    if (i === Math.floor(count / 10)) t.warm()
    t.input(() => {
      const n = r.int(0, 6)
      const b = r.chance(0.3) ? r.bytes(r.int(0, 400)) : r.bytes(8 + 48 * n)
      if (b.length >= 8 && r.chance(0.7)) {
        new DataView(b.buffer).setUint32(0, n, true)
        new DataView(b.buffer).setUint32(4, r.chance(0.9) ? 0 : r.int(0, 3), true)
        for (let k = 0; k < n; k++) {
          const at = 8 + 48 * k
          if (at + 12 > b.length) break
          new DataView(b.buffer).setUint32(at + 4, r.int(0, 6), true) // type
          if (r.chance(0.8)) new DataView(b.buffer).setUint32(at + 8, 0, true) // flags
        }
      }
      const entries = decodeRouting(b)
      const again = decodeRouting(encodeRouting(entries))
      if (json(again) !== json(entries)) t.fail(`round trip changed ${json(entries).slice(0, 120)}`)
    })
  }
  t.report()
}
