// `tsvmm demo`: the demo guest in every delivery mode and guest width (and, with --fuzz, the fuzz
// guest), each VM a `tsvmm run --json` child process, ending with "N passed, N failed". Without a
// usable /dev/kvm it runs itself inside tools/kvm-host.
import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { openKvm } from '../builder.js'
import type { CheckResult } from '../devices/guest-protocol.js'
import { EXIT, VmmError } from '../errors.js'
import { capsReport } from '../xen/caps.js'
import type { DemoOptions, GuestWidth } from './args.js'
import { expectedChecks, loadCheckLists, tallyRun } from './expected-checks.js'
import { linuxDemo } from './linux-demo.js'
import { formatResult, type Streams } from './report.js'

const here = dirname(fileURLToPath(import.meta.url))
/** The repository root (this file is in apps/vmm/dist/cli or apps/vmm/src/cli). */
export const REPO_ROOT = join(here, '..', '..', '..', '..')
/** Where tools/guests puts its images. */
export const GUESTS_DIR = join(REPO_ROOT, 'tools', 'guests', 'build')
/** tools/linux-guest: the kernel and initramfs the demo boots, and its boot checks. */
const LINUX_GUEST_DIR = join(REPO_ROOT, 'tools', 'linux-guest')
/** The checks each guest must report (a missing one counts as failed). */
export const CHECKS_FILE = join(REPO_ROOT, 'tools', 'guests', 'checks.json')
const MAIN = join(here, '..', 'main.js')

/** One VM of the demo. */
export interface DemoRun {
  guest: 'demo' | 'fuzz'
  width: GuestWidth
  delivery: 'kernel' | 'user'
}

/** The runs of a demo, in order. */
export function demoRuns(o: DemoOptions): DemoRun[] {
  const runs: DemoRun[] = []
  for (const guest of o.fuzz ? (['demo', 'fuzz'] as const) : (['demo'] as const))
    for (const delivery of o.deliveries)
      for (const width of o.widths) runs.push({ guest, width, delivery })
  return runs
}

/** Whether this machine's KVM can run every delivery mode the demo asks for. */
function localKvmFits(o: DemoOptions): boolean {
  try {
    closeSync(openSync('/dev/kvm', 'r+'))
    const kvm = openKvm()
    try {
      const report = capsReport(kvm.capabilities())
      return (
        report.blocker === undefined &&
        (!o.deliveries.includes('kernel') || report.autoDelivery === 'kernel')
      )
    } finally {
      kvm.close()
    }
  } catch {
    return false
  }
}

/** What one child run reported. */
export interface RunReport {
  results: CheckResult[]
  end: { exitCode: number; message: string; reason: string } | undefined
  stderr: string
  status: number
}

/** Runs `tsvmm run` as a child with --json and collects its results. */
export function runChild(args: string[], onResult?: (r: CheckResult) => void): Promise<RunReport> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'run', ...args, '--json', '--console', 'none'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const results: CheckResult[] = []
    let end: RunReport['end']
    let stderr = ''
    createInterface({ input: child.stdout }).on('line', (line) => {
      let m: { type?: string } & Record<string, unknown>
      try {
        m = JSON.parse(line)
      } catch {
        return
      }
      if (m.type === 'result') {
        const r = m as unknown as CheckResult
        results.push(r)
        onResult?.(r)
      } else if (m.type === 'end') end = m as unknown as RunReport['end']
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.on('close', (code, signal) =>
      resolve({ results, end, stderr, status: code ?? (signal ? 128 : 1) }),
    )
  })
}

/** Runs the demo; returns the exit code (0 when every check passed). */
export async function demoCommand(o: DemoOptions, streams: Streams): Promise<number> {
  if (!o.here && !localKvmFits(o)) return reexecInKvmHost(o, streams)
  const runs = demoRuns(o)
  for (const r of runs) {
    const image = join(GUESTS_DIR, `${r.guest}${r.width}.elf`)
    if (!existsSync(image))
      throw new VmmError(
        'image',
        `demo: ${image} is missing`,
        'build the guests first: `pnpm build`',
      )
  }
  const checkLists = loadCheckLists(CHECKS_FILE)
  let passed = 0
  let failed = 0
  for (const r of runs) {
    streams.stdout(
      `== ${r.guest} guest, ${r.width}-bit, ${r.delivery} delivery, ${o.vcpus} vCPUs\n`,
    )
    const rep = await runChild(
      [
        join(GUESTS_DIR, `${r.guest}${r.width}.elf`),
        '--vcpus',
        String(o.vcpus),
        '--delivery',
        r.delivery,
        '--timeout',
        String(o.timeoutSec),
        '--watchdog',
        '30',
      ],
      (res) => streams.stdout(`${formatResult(res)}\n`),
    )
    const list = checkLists[r.guest]
    if (list === undefined) throw new VmmError('image', `demo: ${CHECKS_FILE} has no "${r.guest}"`)
    const tally = tallyRun(rep, expectedChecks(list, o.vcpus, r.delivery))
    passed += tally.passed
    failed += tally.failed
    for (const line of tally.lines) streams.stdout(`${line}\n`)
  }
  if (o.linux) {
    // A Linux boot under nested TCG takes tens of seconds: its bound is at least ten minutes.
    const linux = await linuxDemo(
      LINUX_GUEST_DIR,
      MAIN,
      o.deliveries,
      Math.max(o.timeoutSec, 600),
      (line) => streams.stdout(`${line}\n`),
    )
    passed += linux.passed
    failed += linux.failed
  }
  streams.stdout(`${passed} passed, ${failed} failed\n`)
  return failed === 0 ? EXIT.OK : EXIT.GUEST_FAILED
}

/** No /dev/kvm here: the same demo inside tools/kvm-host (an emulated host with KVM). */
function reexecInKvmHost(o: DemoOptions, streams: Streams): Promise<number> {
  const cli = join(REPO_ROOT, 'tools', 'kvm-host', 'cli.mjs')
  if (!existsSync(cli))
    throw new VmmError('kvm', 'demo: /dev/kvm cannot be opened and tools/kvm-host is missing')
  streams.stderr(
    'tsvmm: this machine has no KVM with Xen event channels: running the demo inside tools/kvm-host\n',
  )
  const args = [
    cli,
    '--',
    process.execPath,
    MAIN,
    'demo',
    '--here',
    '--delivery',
    o.deliveries.length === 2 ? 'all' : (o.deliveries[0] ?? 'all'),
    '--width',
    o.widths.length === 2 ? 'all' : String(o.widths[0]),
    '--vcpus',
    String(o.vcpus),
    '--timeout',
    String(o.timeoutSec),
    ...(o.fuzz ? ['--fuzz'] : []),
    ...(o.linux ? [] : ['--no-linux']),
  ]
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (d: Buffer) => streams.stdout(d.toString()))
    child.stderr.on('data', (d: Buffer) => streams.stderr(d.toString()))
    child.on('close', (code) => resolve(code ?? EXIT.INTERNAL))
  })
}
