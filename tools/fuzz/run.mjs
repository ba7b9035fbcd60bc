#!/usr/bin/env node
// pnpm fuzz: random and hostile inputs against every public API and the CLI (issue 12, "Keep
// the figures"). Each target runs in its own process; the ones that can crash run each batch in
// a child of that. Prints per target: inputs tried, typed errors, untyped errors, crashes,
// hangs, heap at start / after warm-up / at the end. A target passes with 0 untyped errors,
// 0 crashes, 0 hangs and a flat heap after warm-up (growth under 8 MiB). Ends with the plain
// line "N passed, N failed" and exits non-zero on a failure.
//
//   pnpm fuzz                       bounded counts (about two minutes on two cores)
//   pnpm fuzz --scale 20            20 times as many inputs per target
//   pnpm fuzz --seed 7 --only engine,cli
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

// Default inputs per target; `--scale` multiplies them. The child-process targets are the slow
// ones (a process per CLI input, a process per 250 kvm-sys inputs).
const TARGETS = {
  'routing-decode': 20_000,
  'routing-validate': 20_000,
  'guest-memory': 50_000,
  engine: 50_000,
  cli: 30,
  'kvm-sys': 5_000,
  xenstore: 20_000,
}
const FLAT_BYTES = 8 * 2 ** 20

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    only: { type: 'string' },
  },
})
const scale = Number(values.scale)
const seed = Number(values.seed)
if (!(scale > 0) || !Number.isInteger(seed)) {
  console.error('usage: pnpm fuzz [--scale <n>] [--seed <int>] [--only <target,...>]')
  process.exit(2)
}
const names = values.only ? values.only.split(',') : Object.keys(TARGETS)
for (const n of names)
  if (!(n in TARGETS)) {
    console.error(`fuzz: no target ${n} (targets: ${Object.keys(TARGETS).join(', ')})`)
    process.exit(2)
  }

const mib = (b) => `${(b / 2 ** 20).toFixed(1)}`
const script = fileURLToPath(new URL('./target.mjs', import.meta.url))
console.log(`fuzz: seed ${seed}, scale ${scale} (rerun with --seed ${seed} to repeat)`)
console.log(
  'target            inputs   typed untyped crashes hangs  heap MiB start/warm/end  time  result',
)
let passed = 0
let failed = 0
for (const name of names) {
  const count = Math.max(1, Math.round(TARGETS[name] * scale))
  const start = Date.now()
  const child = spawnSync(process.execPath, [script, name, String(count), String(seed)], {
    encoding: 'utf8',
    timeout: Math.max(300_000, count * 200 * (name === 'cli' ? 30 : 1)),
    maxBuffer: 64 * 2 ** 20,
  })
  const secs = ((Date.now() - start) / 1000).toFixed(0)
  const line = child.stdout?.trim().split('\n').at(-1) ?? ''
  let res
  try {
    res = JSON.parse(line)
  } catch {
    res = {
      tried: 0,
      typed: 0,
      untyped: 0,
      crashes: 0,
      hangs: 0,
      memStart: 0,
      memWarm: 0,
      memEnd: 0,
      examples: [],
    }
  }
  // The target process itself dying or timing out is a crash or hang of the target.
  if (child.error?.code === 'ETIMEDOUT') res.hangs++
  else if (child.signal !== null || child.status !== 0) {
    res.crashes++
    res.examples.push(
      `target process: ${child.signal ?? `exit ${child.status}`}: ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    )
  }
  const growth = res.memEnd - res.memWarm
  // A target that judges its own heap (xenstore.mjs) says so in `flat`.
  const flat = res.flat ?? growth < FLAT_BYTES
  const ok = res.untyped === 0 && res.crashes === 0 && res.hangs === 0 && flat
  if (ok) passed++
  else failed++
  console.log(
    `${name.padEnd(16)} ${String(res.tried).padStart(7)} ${String(res.typed).padStart(7)} ${String(res.untyped).padStart(7)} ${String(res.crashes).padStart(7)} ${String(res.hangs).padStart(5)}  ${`${mib(res.memStart)}/${mib(res.memWarm)}/${mib(res.memEnd)}`.padStart(23)} ${`${secs}s`.padStart(5)}  ${ok ? 'pass' : `FAIL${flat ? '' : ' (heap grew)'}`}`,
  )
  for (const e of res.examples ?? []) if (!ok) console.log(`    ${e}`)
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
