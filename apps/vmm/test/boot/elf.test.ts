import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkImageFits, loadElfFile, parseElf } from '../../src/boot/elf.js'
import { VmmError } from '../../src/errors.js'
import { buildElf } from '../elf-builder.js'

const code = new Uint8Array([0xfa, 0xf4])

describe('parseElf', () => {
  it('loads a 64-bit image: width, entry and segments at their physical addresses', () => {
    const img = parseElf(
      buildElf({
        entry: 0x100001,
        segments: [
          { paddr: 0x100000, data: code, flags: 5 },
          { paddr: 0x101000, data: new Uint8Array([1, 2]), memsz: 0x2000, flags: 6 },
        ],
      }),
      'a.elf',
    )
    expect(img.width).toBe(64)
    expect(img.entry).toBe(0x100001)
    expect(img.segments.map((s) => [s.gpa, s.data.length, s.memSize, s.executable])).toEqual([
      [0x100000, 2, 2, true],
      [0x101000, 2, 0x2000, false],
    ])
    expect(img.end).toBe(0x103000)
  })

  it('loads a 32-bit image as width 32', () => {
    const img = parseElf(buildElf({ cls: 1, segments: [{ paddr: 0x200000, data: code }] }), 'b.elf')
    expect(img.width).toBe(32)
    expect(img.entry).toBe(0x200000)
  })

  const broken: [string, Uint8Array, RegExp][] = [
    ['an empty file', new Uint8Array(0), /too short/],
    [
      'a text file',
      new TextEncoder().encode('#!/bin/sh\necho not an elf at all, no no no no no no no\n'),
      /not an ELF file/,
    ],
    ['a shared object', buildElf({ type: 3 }), /e_type 3 is not ET_EXEC/],
    ['an ARM image', buildElf({ machine: 40 }), /e_machine 40 is not EM_X86_64/],
    [
      'a 32-bit class with x86-64 machine',
      buildElf({ cls: 1, machine: 62 }),
      /e_machine 62 is not EM_386/,
    ],
    ['no program headers', buildElf({ phnum: 0 }), /e_phnum 0/],
    ['a bad phentsize', buildElf({ phentsize: 40 }), /e_phentsize 40/],
    ['headers past the end', buildElf({ phnum: 9 }), /run past the end/],
    ['an entry outside the code', buildElf({ entry: 0x500000 }), /entry point 0x500000/],
    [
      'overlapping segments',
      buildElf({
        segments: [
          { paddr: 0x100000, data: code, memsz: 0x2000 },
          { paddr: 0x101000, data: code },
        ],
      }),
      /overlap/,
    ],
    [
      'filesz above memsz',
      buildElf({ segments: [{ paddr: 0x100000, data: code, memsz: 1 }] }),
      /p_filesz 2 is larger/,
    ],
  ]
  for (const [what, bytes, message] of broken) {
    it(`rejects ${what} with a VmmError naming the problem`, () => {
      let err: unknown
      try {
        parseElf(bytes, 'bad.elf')
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(VmmError)
      expect((err as VmmError).kind).toBe('image')
      expect((err as VmmError).exitCode).toBe(2)
      expect((err as VmmError).message).toMatch(/^image bad\.elf: /)
      expect((err as VmmError).message).toMatch(message)
    })
  }

  it('never throws anything but a VmmError on truncated or corrupted images', () => {
    const good = buildElf({ segments: [{ paddr: 0x100000, data: new Uint8Array(64).fill(0x90) }] })
    for (let len = 0; len < good.length; len += 3) {
      try {
        parseElf(good.subarray(0, len), 't.elf')
      } catch (e) {
        expect(e).toBeInstanceOf(VmmError)
      }
    }
    let seed = 1
    for (let i = 0; i < 500; i++) {
      const b = good.slice()
      for (let k = 0; k < 4; k++) {
        seed = (seed * 1103515245 + 12345) >>> 0
        b[seed % b.length] = seed >>> 24
      }
      try {
        parseElf(b, 'c.elf')
      } catch (e) {
        expect(e).toBeInstanceOf(VmmError)
      }
    }
  })
})

describe('loadElfFile and checkImageFits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvmm-elf-'))

  it('names a missing file and hints at the build', () => {
    expect(() => loadElfFile(join(dir, 'missing.elf'))).toThrow(/cannot open it \(ENOENT\)/)
  })

  it('refuses a directory', () => {
    expect(() => loadElfFile(dir)).toThrow(/not a regular file/)
  })

  it('reads a file from disk', () => {
    const f = join(dir, 'ok.elf')
    writeFileSync(f, buildElf())
    expect(loadElfFile(f).width).toBe(64)
  })

  it('refuses images that do not fit RAM or overlap the boot area', () => {
    const img = parseElf(
      buildElf({ segments: [{ paddr: 0x100000, data: code, memsz: 0x300000 }] }),
      'x',
    )
    expect(() => checkImageFits(img, 'x', 2 * 1048576, 0x10000)).toThrow(
      /needs memory up to 0x400000 but the VM has 2 MiB/,
    )
    expect(() => checkImageFits(img, 'x', 8 * 1048576, 0x10000)).not.toThrow()
    const low = parseElf(buildElf({ segments: [{ paddr: 0x8000, data: code }] }), 'low')
    expect(() => checkImageFits(low, 'low', 8 * 1048576, 0x10000)).toThrow(/boot area/)
  })
})
