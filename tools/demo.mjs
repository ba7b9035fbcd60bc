#!/usr/bin/env node
// `pnpm demo`: builds the workspace, then, on real KVM (a local /dev/kvm with Xen event channels,
// else the emulated host of tools/kvm-host, in one boot), prints the capability report of the KVM it
// finds and runs the reference VMM's demo guest in both delivery modes and both guest widths.
// The last line is the demo's "N passed, N failed"; the exit code is non-zero on any failure.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const tsvmm = 'node apps/vmm/dist/main.js'

/** [what it shows, command, ...args] */
const STEPS = [
  ['build the workspace', 'pnpm', 'exec', 'turbo', 'run', 'build'],
  [
    'KVM capabilities and the demo guest, on real KVM',
    'node',
    'tools/kvm-host/cli.mjs',
    '--',
    'sh',
    '-c',
    `${tsvmm} caps && ${tsvmm} demo --here ${process.argv.slice(2).join(' ')}`,
  ],
]

for (const [title, cmd, ...args] of STEPS) {
  console.log(`\ndemo: ${title}`)
  const status = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1
  if (status !== 0) {
    console.error(`demo: "${title}" failed with exit code ${status}`)
    process.exit(status)
  }
}
