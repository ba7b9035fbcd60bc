#!/usr/bin/env node
// Builds the tsvmm guests with gcc into build/: freestanding C and GNU as, one ELF per guest and
// width. Run by this package's `build` script (turbo caches build/**).
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

const here = new URL('.', import.meta.url).pathname
const src = join(here, 'src')
const out = join(here, 'build')
mkdirSync(out, { recursive: true })

const cflags = [
  '-ffreestanding',
  '-fno-pic',
  '-fno-pie',
  '-no-pie',
  '-nostdlib',
  '-static',
  '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables',
  '-fno-builtin',
  '-mno-red-zone',
  '-mgeneral-regs-only',
  '-O2',
  '-g0',
  '-Wall',
  '-Wextra',
  '-Werror',
  `-T${join(src, 'guest.ld')}`,
  '-Wl,--build-id=none',
  '-Wl,-z,noexecstack',
  '-Wl,-z,norelro',
  '-Wl,--no-warn-rwx-segments',
]
const runtime = ['start.S', 'runtime.c', 'xenguest.c']

/** Each guest: its sources and the widths it is built for. */
const guests = [
  { name: 'demo', sources: [...runtime, 'demo.c'], widths: [64, 32] },
  { name: 'fuzz', sources: [...runtime, 'fuzz.c'], widths: [64, 32] },
  // The fuzz guest for the soak (apps/vmm/test/fuzz-soak.soak.test.ts): many more rounds per vCPU.
  {
    name: 'fuzz-soak',
    sources: [...runtime, 'fuzz.c'],
    widths: [64],
    defines: ['-DFUZZ_ITERATIONS=58000'],
  },
  // The demo built to report one failed check, and built to crash in the middle of its run: the
  // VMM's failure paths (exit code 1) on real guests.
  {
    name: 'demo-fail',
    sources: [...runtime, 'demo.c'],
    widths: [64],
    defines: ['-DDEMO_PLANTED_FAILURE'],
  },
  {
    name: 'demo-crash',
    sources: [...runtime, 'demo.c'],
    widths: [64],
    defines: ['-DDEMO_CRASH_MIDWAY'],
  },
  { name: 'bench', sources: ['bench.S'], widths: [64, 32] },
  // Times a backend's notify() -> the upcall handler with the vCPU halted (pnpm bench, vmm).
  { name: 'latency', sources: [...runtime, 'latency.c'], widths: [64] },
  { name: 'triple-fault', sources: ['misbehave.S'], widths: [64], defines: ['-DTRIPLE_FAULT'] },
  { name: 'spin', sources: ['misbehave.S'], widths: [64], defines: ['-DSPIN'] },
  { name: 'hang', sources: ['misbehave.S'], widths: [64], defines: ['-DHANG'] },
]

let failed = 0
for (const g of guests) {
  for (const w of g.widths) {
    const file = join(out, `${g.name}${w}.elf`)
    const args = [
      `-m${w}`,
      ...cflags,
      ...(g.defines ?? []),
      '-o',
      file,
      ...g.sources.map((s) => join(src, s)),
    ]
    const r = spawnSync('gcc', args, { stdio: 'inherit' })
    if (r.error) {
      console.error(
        `guests: cannot run gcc (${r.error.message}); install gcc (and gcc-multilib for -m32)`,
      )
      process.exit(1)
    }
    if (r.status !== 0) {
      console.error(`guests: building ${g.name}${w}.elf failed`)
      failed++
    }
  }
}
if (failed) process.exit(1)
console.log(`guests: built ${guests.reduce((n, g) => n + g.widths.length, 0)} images into ${out}`)
