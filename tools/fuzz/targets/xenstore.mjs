// The xenstore server fuzz (tools/fuzz/xenstore.mjs, the xenstore package's own target: random
// messages and ring states, host churn, snapshot/restore) run under pnpm fuzz, its figures put
// in this runner's columns: what it calls crashes are exceptions a guest could cause (untyped
// errors here); a signal or an unexpected exit of its process is a crash.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export function run(count, seed) {
  const script = fileURLToPath(new URL('../xenstore.mjs', import.meta.url))
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', script, '--count', String(count), '--seed', String(seed || 1)],
    { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 * 2 ** 20 },
  )
  const line = child.stdout?.trim().split('\n').at(-1) ?? ''
  const res = line.startsWith('{') ? JSON.parse(line) : undefined
  const mib = 2 ** 20
  const heap = res?.heapMB ?? []
  const crashed = child.signal !== null || (child.status !== 0 && child.status !== 1) || !res
  console.log(
    JSON.stringify({
      target: 'xenstore',
      tried: res?.messages ?? 0,
      typed: 0,
      untyped: res?.crashes ?? 0,
      crashes: crashed ? 1 : 0,
      hangs: (res?.hangs ?? 0) + (child.error?.code === 'ETIMEDOUT' ? 1 : 0),
      memStart: (heap[0] ?? 0) * mib,
      memWarm: (heap[1] ?? heap[0] ?? 0) * mib,
      memEnd: (heap.at(-1) ?? 0) * mib,
      flat: res?.memoryFlat,
      examples: crashed
        ? [`xenstore.mjs: ${child.signal ?? `exit ${child.status}`}: ${child.stderr.slice(0, 200)}`]
        : child.stdout
            .split('\n')
            .slice(1, 4)
            .filter((l) => l && !l.startsWith('{')),
    }),
  )
}
