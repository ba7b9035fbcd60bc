#!/usr/bin/env node
// `pnpm demo`: builds the workspace, then shows what tsvmm gets from KVM on a real KVM host
// (tools/kvm-host: a local /dev/kvm with Xen support, else an emulated AMD host).
// Each step is one line in STEPS; the reference VMM will replace the probe with `tsvmm caps`
// and a guest demo.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** [what it shows, command, ...args] */
const STEPS = [
  ['build the workspace', 'pnpm', 'exec', 'turbo', 'run', 'build'],
  [
    'KVM capabilities, on real KVM',
    'node',
    'tools/kvm-host/cli.mjs',
    '--',
    'tools/kvm-host/build/probe',
  ],
]

for (const [title, cmd, ...args] of STEPS) {
  console.log(`\ndemo: ${title}: ${cmd} ${args.join(' ')}`)
  const status = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1
  if (status !== 0) {
    console.error(`demo: "${title}" failed with exit code ${status}`)
    process.exit(status)
  }
}
