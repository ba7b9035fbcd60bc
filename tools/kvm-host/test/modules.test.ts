import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { moduleDepends, moduleName, resolveModules } from '../lib/modules.mjs'

/** A stand-in module file: some ELF-ish bytes and a .modinfo section with these fields. */
function fakeKo(fields: Record<string, string>): Buffer {
  const info = Object.entries(fields)
    .map(([k, v]) => `${k}=${v}\0`)
    .join('')
  return Buffer.concat([Buffer.from('\x7fELF....\0'), Buffer.from(info), Buffer.from('\0tail')])
}

describe('moduleName', () => {
  it('strips the extension and turns dashes into underscores', () => {
    expect(moduleName('/x/arch/x86/kvm/kvm-amd.ko.xz')).toBe('kvm_amd')
    expect(moduleName('virtio_blk.ko')).toBe('virtio_blk')
    expect(moduleName('kvm-amd')).toBe('kvm_amd')
  })
})

describe('moduleDepends', () => {
  it('reads the depends field of .modinfo', () => {
    expect(
      moduleDepends(fakeKo({ license: 'GPL', depends: 'kvm,irqbypass', name: 'kvm_amd' })),
    ).toEqual(['kvm', 'irqbypass'])
    expect(moduleDepends(fakeKo({ depends: '', name: 'irqbypass' }))).toEqual([])
    expect(moduleDepends(fakeKo({ name: 'x' }))).toEqual([])
  })
})

describe('resolveModules', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kvm-host-mods-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const tree: Record<string, string> = {
    'kernel/virt/lib/irqbypass.ko.xz': '',
    'kernel/arch/x86/kvm/kvm.ko.xz': 'irqbypass',
    'kernel/arch/x86/kvm/kvm-amd.ko.xz': 'kvm,irqbypass',
    'kernel/drivers/block/virtio_blk.ko.xz': '',
    'kernel/drivers/x/loop-a.ko.xz': 'loop_b',
    'kernel/drivers/x/loop-b.ko.xz': 'loop_a',
  }
  for (const [f, deps] of Object.entries(tree)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true })
    writeFileSync(path.join(dir, f), fakeKo({ depends: deps, name: moduleName(f) }))
  }
  const read = (f: string) => readFileSync(f)

  it('orders each module after its dependencies, each once', () => {
    const order = resolveModules(dir, ['virtio_blk', 'kvm_amd'], read).map((m) => m.name)
    expect(order).toEqual(['virtio_blk', 'irqbypass', 'kvm', 'kvm_amd'])
  })

  it('fails clearly on a missing module and on a cycle', () => {
    expect(() => resolveModules(dir, ['nope'], read)).toThrow(/module nope is not in/)
    expect(() => resolveModules(dir, ['loop_a'], read)).toThrow(/cycle: loop_a -> loop_b -> loop_a/)
  })
})
