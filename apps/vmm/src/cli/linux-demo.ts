// The demo's Linux part: the Debian kernel and busybox initramfs of tools/linux-guest booted as a
// Xen HVM guest on 2 vCPUs in each delivery mode, each boot's checks (tools/linux-guest/checks.mjs,
// the same the KVM suite asserts) printed and counted like the demo guests' results. A boot that
// hangs (nested guests under TCG sometimes do) is retried, at most 3 times, and said so.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { VmmError } from '../errors.js'

/** What one boot printed, as tools/linux-guest/boot.mjs reports it (the part read here). */
interface LinuxBoot {
  code: number | null
  stderr: string
  attempts: number
  toInit: number | undefined
  facts: { done: boolean }
}
interface LinuxCheck {
  name: string
  passed: boolean
  message: string
}
/** The tools/linux-guest modules the demo uses. */
interface LinuxTools {
  linuxGuest(): Promise<{ vmlinuz: string; initramfs: string; cmdline: string; release: string }>
  bootUntilDone(
    cmd: string,
    args: string[],
    o: { onAttempt: (b: LinuxBoot) => void },
  ): Promise<LinuxBoot>
  tsvmmLinuxArgs(main: string, guest: object, delivery: string, extra: string[]): string[]
  linuxChecks(b: LinuxBoot): LinuxCheck[]
}

async function loadTools(dir: string): Promise<LinuxTools> {
  const build = join(dir, 'build')
  for (const f of ['vmlinuz', 'initramfs.cpio'])
    if (!existsSync(join(build, f)))
      throw new VmmError(
        'image',
        `demo: ${join(build, f)} is missing`,
        'build it first: `pnpm build` (or run with --no-linux)',
      )
  const load = (f: string) => import(pathToFileURL(join(dir, f)).href)
  const [index, boot, checks] = await Promise.all([
    load('index.mjs'),
    load('boot.mjs'),
    load('checks.mjs'),
  ])
  return { ...index, ...boot, ...checks } as LinuxTools
}

/**
 * Boots Linux once per delivery mode with tsvmm's `main`, printing `== ...` headers, `PASS` /
 * `FAIL` lines and an `ok:` / `FAIL run:` end line per boot, as the guest runs do.
 */
export async function linuxDemo(
  linuxGuestDir: string,
  main: string,
  deliveries: readonly ('kernel' | 'user')[],
  timeoutSec: number,
  print: (line: string) => void,
): Promise<{ passed: number; failed: number }> {
  const tools = await loadTools(linuxGuestDir)
  const guest = await tools.linuxGuest()
  let passed = 0
  let failed = 0
  for (const delivery of deliveries) {
    print(`== Linux ${guest.release} as a Xen HVM guest, ${delivery} delivery, 2 vCPUs`)
    const args = tools.tsvmmLinuxArgs(main, guest, delivery, ['--timeout', String(timeoutSec)])
    const boot = await tools.bootUntilDone(process.execPath, args, {
      onAttempt: (b) => {
        if (!b.facts.done)
          print(`note: attempt ${b.attempts} did not finish its /init report (exit ${b.code})`)
      },
    })
    const checks = tools.linuxChecks(boot)
    for (const c of checks) {
      print(`${c.passed ? 'PASS' : 'FAIL'} linux ${c.name}${c.passed ? '' : `: ${c.message}`}`)
      if (c.passed) passed++
      else failed++
    }
    const init = boot.toInit === undefined ? 'no /init' : `/init after ${boot.toInit.toFixed(1)} s`
    const end = boot.stderr.trim().split('\n').at(-1) ?? ''
    if (checks.every((c) => c.passed)) print(`ok: ${init}, attempt ${boot.attempts}; ${end}`)
    else print(`FAIL run: ${init}, attempt ${boot.attempts}; ${end}`)
  }
  return { passed, failed }
}
