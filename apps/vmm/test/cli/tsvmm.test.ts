// The `tsvmm` program end to end without KVM: help, version, and every error path a user can hit
// before a VM starts, each with its message and exit code.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/tsvmm.js'
import { buildElf } from '../elf-builder.js'

async function tsvmm(...argv: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) })
  return { code, stdout, stderr }
}

const dir = mkdtempSync(join(tmpdir(), 'tsvmm-main-'))

describe('tsvmm', () => {
  it('prints help and its version', async () => {
    expect((await tsvmm('--help')).stdout).toMatch(/^usage: tsvmm <command>/)
    expect((await tsvmm('help', 'run')).stdout).toMatch(/--delivery <mode>/)
    const v = await tsvmm('--version')
    expect(v.stdout).toMatch(/^tsvmm \d+\.\d+\.\d+\n$/)
    expect(v.code).toBe(0)
  })

  it('bad flags: a message naming the flag, a hint, exit code 2', async () => {
    const r = await tsvmm('run', 'x.elf', '--vcpus', 'many')
    expect(r.stderr).toBe("tsvmm: --vcpus: must be a whole number from 1 to 32, got 'many'\n")
    expect(r.code).toBe(2)
    const u = await tsvmm('fly')
    expect(u.stderr).toMatch(/unknown command 'fly'\ntsvmm: hint: the commands are/)
    expect(u.code).toBe(2)
  })

  it('a bad config file: the field in the message, exit code 2', async () => {
    const f = join(dir, 'vm.json')
    writeFileSync(f, JSON.stringify({ image: 'g.elf', delivery: 'fast' }))
    const r = await tsvmm('run', '--config', f)
    expect(r.stderr).toMatch(
      /config .*vm\.json: field 'delivery': must be one of 'kernel', 'user', 'auto', got 'fast'/,
    )
    expect(r.code).toBe(2)
  })

  it('a missing or malformed image: exit code 2 before any KVM is touched', async () => {
    const missing = await tsvmm('run', join(dir, 'none.elf'))
    expect(missing.stderr).toMatch(
      /image .*none\.elf: cannot open it \(ENOENT\)\ntsvmm: hint: build the guests/,
    )
    expect(missing.code).toBe(2)
    const junk = join(dir, 'junk.elf')
    writeFileSync(junk, 'MZ this is not an ELF file, not even close to one............')
    const bad = await tsvmm('run', junk)
    expect(bad.stderr).toMatch(/not an ELF file \(bad magic\)/)
    expect(bad.code).toBe(2)
    const big = join(dir, 'big.elf')
    writeFileSync(
      big,
      buildElf({ segments: [{ paddr: 0x100000, data: new Uint8Array([0xf4]), memsz: 0x800000 }] }),
    )
    const tooBig = await tsvmm('run', big, '--memory', '4M')
    expect(tooBig.stderr).toMatch(/needs memory up to 0x900000 but the VM has 4 MiB/)
    expect(tooBig.code).toBe(2)
  })

  // issue 12 item 1: an unopenable console file was an unhandled 'error' event and exit 1.
  it('a console file that cannot be opened: one line naming it and why, exit code 2', async () => {
    const image = join(dir, 'ok.elf')
    writeFileSync(image, buildElf({}))
    const missing = await tsvmm('run', image, '--console', 'file:/nonexistent/x.log')
    expect(missing.stderr).toBe(
      'tsvmm: console file /nonexistent/x.log: cannot open it: no such file or directory (ENOENT)\n',
    )
    expect(missing.code).toBe(2)
    const folder = await tsvmm('run', image, '--console', `file:${dir}`)
    expect(folder.stderr).toBe(
      `tsvmm: console file ${dir}: cannot open it: illegal operation on a directory (EISDIR)\n`,
    )
    expect(folder.code).toBe(2)
    // The same from the config file's console field.
    const f = join(dir, 'console.json')
    writeFileSync(f, JSON.stringify({ image, console: 'file:/nonexistent/x.log' }))
    const fromConfig = await tsvmm('run', '--config', f)
    expect(fromConfig.stderr).toMatch(
      /^tsvmm: console file \/nonexistent\/x\.log: cannot open it: .*\(ENOENT\)\n$/,
    )
    expect(fromConfig.code).toBe(2)
    // It no longer hides other errors: a garbage image still exits 2, with a usable console file.
    const junk = join(dir, 'junk2.elf')
    writeFileSync(junk, 'not an ELF file at all, just some text to fail on..............')
    const bad = await tsvmm('run', junk, '--console', `file:${join(dir, 'console.log')}`)
    expect(bad.stderr).toMatch(/not an ELF file \(bad magic\)/)
    expect(bad.code).toBe(2)
    const both = await tsvmm('run', junk, '--console', 'file:/nonexistent/x.log')
    expect(both.code).toBe(2)
  })
})
