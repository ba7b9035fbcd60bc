// Benchmark (not a test): encodeRouting of a 4096-entry mixed table into a kept buffer, against
// C filling the same struct kvm_irq_routing from its own route structs
// (tools/bench/irq-routing/encode.c, compiled here with gcc -O2). Two tables:
//   x86  what a VMM sends on x86 and KVM accepts: IOAPIC, MSI, HV_SINT and Xen event channel
//        routes (the target, at most 5x C, is measured on this one);
//   all  every entry type, MSI with devid and S390_ADAPTER (bigint fields) included, for
//        information: six object shapes make V8's property loads megamorphic.
// Prints µs per encode for each side and the ratio JS/C. Exits non-zero only on error (gcc
// fails, or JS and C produce different bytes), never for missing the target.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encodedSize, encodeRouting } from '../dist/index.js'

const NR_ROUTES = 4096
const ITERATIONS = 2000
const ROUNDS = 15
const TARGET_RATIO = 5

/** The same recipes as make_routes() in encode.c. */
function makeRoutes(n, all) {
  const routes = []
  for (let i = 0; i < n; i++) {
    switch (i % (all ? 6 : 4)) {
      case 0:
        routes.push({ gsi: i, type: 'irqchip', irqchip: 2, pin: i % 24 })
        break
      case 1:
      case 4: {
        const addressLo = (0xfee00000 | ((i & 0xff) << 12)) >>> 0
        const data = 0x4000 | (i & 0xff)
        routes.push(
          i % 6 === 4
            ? { gsi: i, type: 'msi', addressLo, addressHi: 0, data, devid: i }
            : { gsi: i, type: 'msi', addressLo, addressHi: 0, data },
        )
        break
      }
      case 2:
        routes.push({ gsi: i, type: 'hvSint', vcpu: i % 8, sint: i % 16 })
        break
      case 3:
        routes.push({ gsi: i, type: 'xenEvtchn', port: i, vcpu: i % 4 })
        break
      default:
        routes.push({
          gsi: i,
          type: 's390Adapter',
          indAddr: 0x1_0000_0000n * BigInt(i) + 8n,
          summaryAddr: 0xffff_0000_0000_0000n | BigInt(i),
          indOffset: BigInt(i),
          summaryOffset: i * 2,
          adapterId: i % 16,
        })
    }
  }
  return routes
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]

function timeJs(encode) {
  for (let i = 0; i < ITERATIONS; i++) encode() // warm up: let the JIT settle
  const per = []
  let sink = 0
  for (let k = 0; k < ROUNDS; k++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < ITERATIONS; i++) sink ^= encode()[8]
    per.push(Number(process.hrtime.bigint() - t0) / 1e3 / ITERATIONS)
  }
  if (sink === 0x1_0000) console.log('') // keep `sink` alive
  return median(per)
}

const dir = mkdtempSync(join(tmpdir(), 'irq-routing-bench-'))
try {
  const source = fileURLToPath(
    new URL('../../../tools/bench/irq-routing/encode.c', import.meta.url),
  )
  const binary = join(dir, 'encode')
  execFileSync('gcc', ['-O2', '-std=gnu11', '-Wall', '-Werror', '-o', binary, source])

  const results = {}
  for (const table of ['x86', 'all']) {
    const out = join(dir, `${table}.bin`)
    const args = [table, String(ITERATIONS), String(ROUNDS), out]
    const c = JSON.parse(execFileSync(binary, args, { encoding: 'utf8' })).usPerEncode
    const routes = makeRoutes(NR_ROUTES, table === 'all')
    const buffer = new Uint8Array(encodedSize(NR_ROUTES))
    const js = timeJs(() => encodeRouting(routes, buffer))
    const fresh = timeJs(() => encodeRouting(routes))
    const same = Buffer.compare(readFileSync(out), Buffer.from(encodeRouting(routes))) === 0
    if (!same) throw new Error(`${table}: JS and C encoded different bytes for the same table`)
    results[table] = { c, js, fresh }
  }

  console.log(`irq-routing encode, ${NR_ROUTES}-entry tables (bytes identical to C)`)
  for (const [table, { c, js, fresh }] of Object.entries(results)) {
    const ratio = js / c
    const verdict =
      table === 'x86'
        ? ` (target <= ${TARGET_RATIO}x: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'})`
        : ''
    console.log(
      `  ${table.padEnd(4)} C gcc -O2 ${c.toFixed(2)} µs | JS into kept buffer ${js.toFixed(2)} µs | JS fresh 196 KB ${fresh.toFixed(2)} µs`,
    )
    console.log(`       ratio JS/C ${ratio.toFixed(2)}x${verdict}`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
