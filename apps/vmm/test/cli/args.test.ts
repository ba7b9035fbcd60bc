import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseCommand } from '../../src/cli/args.js'
import { DEFAULTS } from '../../src/cli/config.js'
import { VmmError } from '../../src/errors.js'

const cwd = mkdtempSync(join(tmpdir(), 'tsvmm-cli-'))
const parse = (...argv: string[]) => parseCommand(argv, cwd)

function usageError(...argv: string[]): string {
  try {
    parse(...argv)
  } catch (e) {
    expect(e).toBeInstanceOf(VmmError)
    expect((e as VmmError).exitCode).toBe(2)
    return (e as VmmError).message
  }
  throw new Error(`expected ${argv.join(' ')} to fail`)
}

describe('tsvmm command line', () => {
  it('prints help without arguments and for -h/--help/help', () => {
    expect(parse()).toEqual({ kind: 'help', topic: 'main' })
    expect(parse('--help')).toEqual({ kind: 'help', topic: 'main' })
    expect(parse('help', 'run')).toEqual({ kind: 'help', topic: 'run' })
    expect(parse('help', '--help')).toEqual({ kind: 'help', topic: 'main' })
    expect(parse('run', '--help')).toEqual({ kind: 'help', topic: 'run' })
    expect(parse('-V')).toEqual({ kind: 'version' })
  })

  it('parses caps', () => {
    expect(parse('caps')).toEqual({ kind: 'caps', json: false })
    expect(parse('caps', '--json')).toEqual({ kind: 'caps', json: true })
    expect(usageError('caps', '--yaml')).toMatch(/caps: unknown option '--yaml'/)
  })

  it('parses run flags in both spellings', () => {
    const c = parse(
      'run',
      'g.elf',
      '--vcpus',
      '2',
      '--memory=128M',
      '--xen-version',
      '4.13',
      '--delivery=user',
      '--console',
      'none',
      '--log-level',
      'info',
      '--timeout',
      '60',
      '--watchdog=10',
      '--json',
      '--uuid',
      '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
      '--shutdown-after=30',
    )
    expect(c).toEqual({
      kind: 'run',
      config: {
        image: join(cwd, 'g.elf'),
        vcpus: 2,
        memoryMiB: 128,
        xenVersion: { major: 4, minor: 13 },
        delivery: 'user',
        console: 'none',
        logLevel: 'info',
        timeoutSec: 60,
        watchdogSec: 10,
        json: true,
        cmdline: 'console=ttyS0',
        noReboot: false,
        uuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
        shutdownAfterSec: 30,
      },
    })
    expect(() => parse('run', 'g.elf', '--uuid', '3f2504e0')).toThrow(/--uuid: must be a uuid/)
    expect(() => parse('run', 'g.elf', '--shutdown-after', '-1')).toThrow(/--shutdown-after/)
  })

  it('parses the Linux flags: --kernel, --initrd, --cmdline, --no-reboot, and the config fields', () => {
    const c = parse(
      'run',
      '--kernel',
      'bz',
      '--initrd=rd.cpio',
      '--cmdline',
      'console=ttyS0 panic=-1',
      '--no-reboot',
    )
    expect(c.kind === 'run' && c.config).toMatchObject({
      image: join(cwd, 'bz'),
      initrd: join(cwd, 'rd.cpio'),
      cmdline: 'console=ttyS0 panic=-1',
      noReboot: true,
    })
    expect(() => parse('run', '--kernel', 'bz', '--image', 'g.elf')).toThrow(
      /more than one guest image/,
    )
    expect(() => parse('run', '--kernel', 'bz', '--cmdline', 'a\nb')).toThrow(/printable ASCII/)
    const f = join(cwd, 'linux.json')
    writeFileSync(
      f,
      JSON.stringify({ kernel: 'bz', initrd: 'rd', cmdline: 'quiet', noReboot: true }),
    )
    expect(parse('run', '--config', f)).toMatchObject({
      config: { image: join(cwd, 'bz'), initrd: join(cwd, 'rd'), cmdline: 'quiet', noReboot: true },
    })
    writeFileSync(f, JSON.stringify({ kernel: 'bz', image: 'g.elf' }))
    expect(() => parse('run', '--config', f)).toThrow(/not both/)
  })

  it('takes a config file and lets flags override it', () => {
    const f = join(cwd, 'vm.json')
    writeFileSync(f, JSON.stringify({ image: 'x.elf', vcpus: 4, delivery: 'kernel' }))
    const c = parse('run', '--config', f, '--vcpus', '1')
    expect(c.kind === 'run' && c.config).toEqual({
      ...DEFAULTS,
      image: join(cwd, 'x.elf'),
      vcpus: 1,
      delivery: 'kernel',
      uuid: expect.any(String),
    })
  })

  it('names the bad flag and value', () => {
    expect(usageError('run', 'g.elf', '--vcpus', '0')).toMatch(
      /--vcpus: must be a whole number from 1 to 32, got '0'/,
    )
    expect(usageError('run', 'g.elf', '--vcpus')).toMatch(/--vcpus needs a value/)
    expect(usageError('run', 'g.elf', '--delivery', 'fast')).toMatch(
      /--delivery: must be one of 'kernel', 'user', 'auto'/,
    )
    expect(usageError('run', 'g.elf', '--memory', 'lots')).toMatch(/--memory/)
    expect(usageError('run', 'g.elf', '--xen-version', '4')).toMatch(/--xen-version/)
    expect(usageError('run', 'g.elf', '--cpus', '2')).toMatch(/run: unknown option '--cpus'/)
    expect(usageError('run', 'a.elf', 'b.elf')).toMatch(/more than one guest image/)
    expect(usageError('run')).toMatch(/no guest image/)
    expect(usageError('frobnicate')).toMatch(/unknown command 'frobnicate'/)
    expect(usageError('run', '--config', join(cwd, 'none.json'))).toMatch(
      /config .*none\.json: cannot read it/,
    )
  })

  it('parses demo options', () => {
    expect(parse('demo')).toEqual({
      kind: 'demo',
      options: {
        deliveries: ['kernel', 'user'],
        widths: [64, 32],
        vcpus: 2,
        fuzz: false,
        linux: true,
        here: false,
        timeoutSec: 120,
      },
    })
    const c = parse(
      'demo',
      '--delivery',
      'user',
      '--width',
      '32',
      '--vcpus',
      '3',
      '--fuzz',
      '--here',
      '--no-linux',
    )
    expect(c.kind === 'demo' && c.options).toMatchObject({
      deliveries: ['user'],
      widths: [32],
      vcpus: 3,
      fuzz: true,
      linux: false,
      here: true,
    })
    expect(usageError('demo', '--width', '16')).toMatch(/--width: must be 64, 32 or all/)
  })
})
