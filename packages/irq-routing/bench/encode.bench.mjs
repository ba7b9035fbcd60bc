// Benchmark (not a test): irq-routing against C (tools/bench/irq-routing/encode.c, gcc -O2 in
// this run), 4096-route tables.
//   encodeRouting, one row per table shape, target at most 3x C's time:
//     x86  what a VMM sends on x86: IOAPIC, MSI, HV_SINT and Xen routes (four object shapes);
//     all  every entry type, MSI with devid and S390_ADAPTER included (six object shapes: the
//          load of `type` goes megamorphic in V8);
//     xen  only Xen event channel routes;  msi  only MSI routes.
//   RoutingTable one-route change with the bytes ready for KVM_SET_GSI_ROUTING, target below
//   C rebuilding the whole x86 table (what QEMU and Firecracker do on every change):
//     replace  a GSI's route rewritten (an MSI vector moves, a port is rebound);
//     move     remove a GSI's route and add it again (the entries after it move twice).
// Each JS measurement runs in a fresh node process, as each C one does, so that one shape's
// type feedback does not slow the next shape down. C and JS alternate, TRIALS times; the row
// shows the medians. Rows go to bench-results/irq-routing.json (tools/bench/rows.mjs). Exits
// non-zero only on error (gcc fails, JS and C bytes differ), never for a missed target.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeRows } from '../../../tools/bench/rows.mjs'
import { encodedSize, encodeRouting, RoutingTable } from '../dist/index.js'

const NR_ROUTES = 4096
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000)
const ROUNDS = 9
const TRIALS = Number(process.env.BENCH_TRIALS ?? 3)
const SHAPES = {
  x86: 'x86 mix (irqchip/MSI/HV_SINT/Xen)',
  all: 'every entry type (s390, MSI devid)',
  xen: 'only Xen event channels',
  msi: 'only MSI',
}
const CHANGES = {
  replace: 'RoutingTable one-route change, bytes ready',
  move: 'RoutingTable remove + add one route (GSI order kept), bytes ready',
}

/** Which recipe entry i of a table of `shape` follows: recipe() in encode.c. */
function recipe(shape, i) {
  if (shape === 'all') return i % 6
  if (shape === 'xen') return 3
  if (shape === 'msi') return 1
  return i % 4
}

/** The same routes as make_routes() in encode.c; `variant` 1 changes one field of each. */
function makeRoute(shape, i, variant = 0) {
  switch (recipe(shape, i)) {
    case 0:
      return { gsi: i, type: 'irqchip', irqchip: 2, pin: (i + variant) % 24 }
    case 1:
    case 4: {
      const addressLo = (0xfee00000 | ((i & 0xff) << 12)) >>> 0
      const data = 0x4000 | ((i + variant) & 0xff)
      return recipe(shape, i) === 4
        ? { gsi: i, type: 'msi', addressLo, addressHi: 0, data, devid: i }
        : { gsi: i, type: 'msi', addressLo, addressHi: 0, data }
    }
    case 2:
      return { gsi: i, type: 'hvSint', vcpu: i % 8, sint: (i + variant) % 16 }
    case 3:
      return { gsi: i, type: 'xenEvtchn', port: i + variant, vcpu: i % 4 }
    default:
      return {
        gsi: i,
        type: 's390Adapter',
        indAddr: 0x1_0000_0000n * BigInt(i) + 8n,
        summaryAddr: 0xffff_0000_0000_0000n | BigInt(i),
        indOffset: BigInt(i),
        summaryOffset: i * 2,
        adapterId: i % 16,
      }
  }
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]

/** µs per call of `f`: median of ROUNDS rounds of `iterations` calls after a warm-up. */
function timeUs(f, iterations) {
  let sink = 0
  for (let i = 0; i < iterations; i++) sink ^= f(i) // warm up: let the JIT settle
  const per = []
  for (let k = 0; k < ROUNDS; k++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < iterations; i++) sink ^= f(i)
    per.push(Number(process.hrtime.bigint() - t0) / 1e3 / iterations)
  }
  if (sink === 0x1_0000) console.log('') // keep `sink` alive
  return median(per)
}

/** Child: encodeRouting of one shape into a kept buffer; writes the bytes to `out`. */
function childEncode(shape, out) {
  const routes = Array.from({ length: NR_ROUTES }, (_, i) => makeRoute(shape, i))
  const buffer = new Uint8Array(encodedSize(NR_ROUTES))
  const us = timeUs(() => encodeRouting(routes, buffer)[8], ITERATIONS)
  writeFileSync(out, encodeRouting(routes))
  return us
}

/** Child: one-route changes on a RoutingTable of the x86 table, spread over all its GSIs. */
function childChange(kind) {
  const kernel = { setGsiRouting() {}, irqfd() {} }
  const table = new RoutingTable(kernel, { initial: 'empty' })
  const variants = [0, 1].map((v) =>
    Array.from({ length: NR_ROUTES }, (_, i) => [makeRoute('x86', i, v)]),
  )
  for (let i = 0; i < NR_ROUTES; i++) table.add(variants[0][i][0])
  const gsiOf = (k) => (k * 613) % NR_ROUTES // a stride coprime to 4096: every GSI in turn
  const change =
    kind === 'replace'
      ? (k) => {
          const gsi = gsiOf(k)
          table.replace(gsi, variants[(k >> 12) & 1][gsi])
          return table.encode()[8 + 48 * gsi]
        }
      : (k) => {
          const gsi = gsiOf(k)
          table.remove(gsi)
          table.add(variants[(k >> 12) & 1][gsi][0])
          return table.encode()[8 + 48 * gsi]
        }
  const us = timeUs(change, ITERATIONS * 10)
  const bytes = table.encode()
  if (Buffer.compare(Buffer.from(bytes), Buffer.from(encodeRouting(table.routes()))) !== 0) {
    throw new Error(`${kind}: the kept bytes differ from encodeRouting(routes())`)
  }
  if (bytes.byteLength !== encodedSize(NR_ROUTES)) throw new Error(`${kind}: lost routes`)
  return us
}

const args = process.argv.slice(2)
if (args[0] === '--child-encode') {
  console.log(JSON.stringify({ us: childEncode(args[1], args[2]) }))
  process.exit(0)
}
if (args[0] === '--child-change') {
  console.log(JSON.stringify({ us: childChange(args[1]) }))
  process.exit(0)
}

const self = fileURLToPath(import.meta.url)
const child = (...a) =>
  JSON.parse(
    execFileSync(process.execPath, [self, ...a], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  ).us
const dir = mkdtempSync(join(tmpdir(), 'irq-routing-bench-'))
try {
  const source = fileURLToPath(
    new URL('../../../tools/bench/irq-routing/encode.c', import.meta.url),
  )
  const binary = join(dir, 'encode')
  execFileSync('gcc', ['-O2', '-std=gnu11', '-Wall', '-Werror', '-o', binary, source])
  const runC = (shape) => {
    const out = join(dir, `${shape}.c.bin`)
    const args = [shape, String(ITERATIONS), String(ROUNDS), out]
    return JSON.parse(execFileSync(binary, args, { encoding: 'utf8' })).usPerEncode
  }

  /** name -> { js: µs[], c: µs[] } */
  const times = {}
  const record = (name, js, c) => {
    times[name] ??= { js: [], c: [] }
    times[name].js.push(js)
    times[name].c.push(c)
  }
  for (let t = 0; t < TRIALS; t++) {
    for (const shape of Object.keys(SHAPES)) {
      const c = runC(shape)
      const js = child('--child-encode', shape, join(dir, `${shape}.js.bin`))
      const same =
        Buffer.compare(
          readFileSync(join(dir, `${shape}.c.bin`)),
          readFileSync(join(dir, `${shape}.js.bin`)),
        ) === 0
      if (!same) throw new Error(`${shape}: JS and C encoded different bytes for the same table`)
      record(shape, js, c)
      if (shape === 'x86') {
        // C's full rebuild of the same table is the baseline of a one-route change
        for (const kind of Object.keys(CHANGES)) record(kind, child('--child-change', kind), c)
      }
    }
  }

  const rows = []
  console.log(`irq-routing, ${NR_ROUTES}-route tables, medians of ${TRIALS} alternating trials`)
  for (const [name, { js, c }] of Object.entries(times)) {
    const isShape = name in SHAPES
    const tsvmm = median(js)
    const baseline = median(c)
    const ratio = median(js.map((v, i) => v / c[i]))
    const limit = isShape ? 3 : 1
    const row = {
      benchmark: isShape
        ? `irq-routing encodeRouting, ${NR_ROUTES} routes, ${SHAPES[name]}`
        : `irq-routing ${CHANGES[name]}, ${NR_ROUTES} routes`,
      unit: 'µs',
      tsvmm,
      baseline,
      baselineName: isShape ? 'C gcc -O2' : 'C full rebuild, x86 mix',
      ratio,
      target: isShape ? '<= 3x' : '< 1x',
      met: isShape ? ratio <= limit : ratio < limit,
    }
    rows.push(row)
    console.log(
      `  ${row.benchmark}: ${tsvmm.toFixed(2)} µs vs ${baseline.toFixed(2)} µs ` +
        `(${row.baselineName}), ${ratio.toFixed(2)}x (target ${row.target}: ${row.met ? 'met' : 'NOT met'})`,
    )
  }
  writeRows('irq-routing', rows)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
