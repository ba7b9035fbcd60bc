import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  DEFAULTS,
  loadConfigFile,
  resolveConfig,
  validateConfigObject,
} from '../../src/cli/config.js'
import { VmmError } from '../../src/errors.js'
import { UUID_PATTERN } from '../../src/xen/domain-handle.js'

const dir = mkdtempSync(join(tmpdir(), 'tsvmm-config-'))
const file = (name: string, text: string) => {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

function errorOf(fn: () => unknown): VmmError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(VmmError)
    return e as VmmError
  }
  throw new Error('expected a VmmError')
}

describe('config files', () => {
  it('reads every field, resolving paths against the file', () => {
    const p = file(
      'full.json',
      JSON.stringify({
        image: 'guests/demo64.elf',
        vcpus: 4,
        memory: '128M',
        xenVersion: '4.16',
        delivery: 'user',
        console: 'file:out/console.log',
        logLevel: 'debug',
        timeout: 30,
        watchdog: 5,
        json: true,
      }),
    )
    expect(loadConfigFile(p)).toEqual({
      image: join(dir, 'guests/demo64.elf'),
      vcpus: 4,
      memoryMiB: 128,
      xenVersion: { major: 4, minor: 16 },
      delivery: 'user',
      console: { file: join(dir, 'out/console.log') },
      logLevel: 'debug',
      timeoutSec: 30,
      watchdogSec: 5,
      json: true,
    })
  })

  const bad: [string, unknown, RegExp][] = [
    ['vcpus 0', { vcpus: 0 }, /field 'vcpus': must be a whole number from 1 to 32, got 0/],
    ['vcpus as a string', { vcpus: '2' }, /field 'vcpus': must be a number, got '2'/],
    ['vcpus 2.5', { vcpus: 2.5 }, /field 'vcpus'/],
    ['memory 1', { memory: 1 }, /field 'memory': must be a size in MiB from 2/],
    ['memory in bananas', { memory: '64 bananas' }, /field 'memory'/],
    [
      'a delivery typo',
      { delivery: 'kernal' },
      /field 'delivery': must be one of 'kernel', 'user', 'auto', got 'kernal'/,
    ],
    ['xenVersion as a number', { xenVersion: 4.17 }, /field 'xenVersion': must be a Xen version/],
    ['console elsewhere', { console: 'printer' }, /field 'console'/],
    ['a log level', { logLevel: 'loud' }, /field 'logLevel'/],
    ['a negative timeout', { timeout: -1 }, /field 'timeout'/],
    ['json as a string', { json: 'yes' }, /field 'json': must be true or false/],
    ['an empty image', { image: '' }, /field 'image': must be a file path/],
    ['an unknown field', { vcpu: 2 }, /unknown field 'vcpu'/],
  ]
  for (const [what, json, message] of bad) {
    it(`rejects ${what}, naming the field`, () => {
      const e = errorOf(() => validateConfigObject(json, 'vm.json'))
      expect(e.message).toMatch(/^config vm\.json: /)
      expect(e.message).toMatch(message)
      expect(e.exitCode).toBe(2)
    })
  }

  it('rejects JSON that is not an object', () => {
    expect(errorOf(() => validateConfigObject([1, 2], 'a.json')).message).toMatch(
      /must be a JSON object, got an array/,
    )
    expect(errorOf(() => validateConfigObject(null, 'a.json')).message).toMatch(/got null/)
  })

  it('reports malformed JSON and missing files', () => {
    expect(errorOf(() => loadConfigFile(file('broken.json', '{"vcpus": 2,'))).message).toMatch(
      /not valid JSON/,
    )
    expect(errorOf(() => loadConfigFile(join(dir, 'nope.json'))).message).toMatch(
      /cannot read it \(ENOENT\)/,
    )
  })

  it('merges defaults < file < flags and requires an image', () => {
    const merged = resolveConfig({ image: '/a.elf', vcpus: 2, memoryMiB: 32 }, { vcpus: 3 })
    expect(merged).toEqual({
      ...DEFAULTS,
      image: '/a.elf',
      vcpus: 3,
      memoryMiB: 32,
      uuid: expect.stringMatching(UUID_PATTERN),
    })
    // A random uuid unless one is given; a given one is kept (lower case).
    expect(resolveConfig({ image: '/a' }, {}).uuid).not.toBe(
      resolveConfig({ image: '/a' }, {}).uuid,
    )
    const u = '3F2504E0-4F89-41D3-9A0C-0305E82C3301'
    expect(resolveConfig(validateConfigObject({ image: '/a', uuid: u }, 'c.json'), {}).uuid).toBe(
      u.toLowerCase(),
    )
    expect(() => validateConfigObject({ uuid: 'not-a-uuid' }, 'c.json')).toThrow(/field 'uuid'/)
    expect(() => validateConfigObject({ shutdownAfter: '5' }, 'c.json')).toThrow(
      /field 'shutdownAfter'/,
    )
    expect(validateConfigObject({ shutdownAfter: 5 }, 'c.json')).toEqual({ shutdownAfterSec: 5 })
    expect(errorOf(() => resolveConfig({}, {})).message).toMatch(/no guest image/)
  })
})
