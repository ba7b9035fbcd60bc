// The Linux boot harness (tools/linux-guest/boot.mjs) on stand-in children (not VMMs): a boot
// whose serial line goes quiet is asked to stop with SIGINT, so tsvmm can log where its vCPUs
// were, and killed only when it does not end.
import { describe, expect, it } from 'vitest'
// @ts-expect-error: a JavaScript module without type declarations
import { bootOnce } from '../../../tools/linux-guest/boot.mjs'

/** A child that prints a line, then stays quiet; `onInt` is what it does on SIGINT. */
const quietChild = (onInt: string) => [
  '-e',
  `process.on('SIGINT', () => { ${onInt} }); console.log('TSVMM-INIT uptime 1'); setInterval(() => {}, 1000)`,
]

describe('boot harness: a quiet boot', () => {
  it('gets SIGINT and keeps what the VMM said as it stopped', async () => {
    const b = await bootOnce(
      process.execPath,
      quietChild("console.error('stop flag at rip 0xffffffff81000000'); process.exit(130)"),
      // Quiet counts from the spawn: the child must have its SIGINT handler before the harness
      // gives up, and a loaded CI machine took more than 300 ms to start Node.
      { quietMs: 5000, graceMs: 5000 },
    )
    expect(b.code).toBe(130)
    expect(b.stderr).toContain('stop flag at rip 0xffffffff81000000')
    expect(b.facts).toMatchObject({ init: true, done: false })
  })
  it('is killed when it does not end after SIGINT', async () => {
    const b = await bootOnce(process.execPath, quietChild('/* ignored */'), {
      quietMs: 300,
      graceMs: 300,
    })
    expect(b.code).toBe(null)
    expect(b.seconds).toBeLessThan(30)
  })
})
