// src/xen-abi.h, the guests' own copy of Xen's public ABI, equals Xen's real headers (libxen-dev's,
// fetched by tools/xen-headers.mjs when the machine has none) for both guest widths. Every macro,
// errno, typedef, struct, field offset and field size the header defines is listed from the header
// itself, then gcc evaluates each expression once against each header set. The values come back
// through the assembler output (the kernel's asm-offsets trick), so nothing 32-bit has to run.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { xenIncludeDir } from '../../xen-headers.mjs'

const src = new URL('../src', import.meta.url).pathname
const headerFile = join(src, 'xen-abi.h')
const header = readFileSync(headerFile, 'utf8')
/** The interface version the guests are written for (sched_op and vcpu_time_info depend on it). */
const XEN_INTERFACE_VERSION = '0x00040e00'
const XEN_INCLUDES = [
  'xen/xen.h',
  'xen/event_channel.h',
  'xen/hvm/hvm_op.h',
  'xen/hvm/params.h',
  'xen/memory.h',
  'xen/sched.h',
  'xen/vcpu.h',
  'xen/version.h',
  'xen/arch-x86/cpuid.h',
]

let dir: string
let xenInclude: string
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'guests-xen-abi-'))
  xenInclude = await xenIncludeDir()
}, 300_000) // a first fetch of libxen-dev on a slow mirror
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const gcc = (args: string[], input?: string) =>
  execFileSync('gcc', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] })

/** Object-like macros the header defines (its include guard aside), for one width. */
function macros(flag: string): string[] {
  const names = (text: string) =>
    new Set([...text.matchAll(/^#define (\w+) /gm)].map((m) => m[1] as string))
  const base = names(
    gcc([flag, '-ffreestanding', '-dM', '-E', '-x', 'c', '-'], '#include <stdint.h>\n'),
  )
  const all = names(gcc([flag, '-ffreestanding', '-dM', '-E', headerFile]))
  return [...all].filter((n) => !base.has(n) && n !== 'GUEST_XEN_ABI_H').sort()
}

/** Splits `text` at `sep` where it is outside braces. */
function splitTop(text: string, sep: string): string[] {
  const parts: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '{') depth++
    else if (text[i] === '}') depth--
    else if (text[i] === sep && depth === 0) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  parts.push(text.slice(start))
  return parts.map((p) => p.trim()).filter((p) => p !== '')
}

/** Member paths of a struct or union body (`u.interdomain.port` for nested ones). */
function members(body: string, prefix = ''): string[] {
  const out: string[] = []
  const nameOf = (declarator: string) => {
    const m = /(\w+)\s*(\[[^\]]*\]\s*)*$/.exec(declarator.trim())
    if (!m) throw new Error(`cannot read a member name from "${declarator}"`)
    return m[1] as string
  }
  for (const decl of splitTop(body, ';')) {
    const open = decl.indexOf('{')
    if (open >= 0) {
      const close = decl.lastIndexOf('}')
      for (const d of splitTop(decl.slice(close + 1), ',')) {
        const name = nameOf(d)
        out.push(prefix + name, ...members(decl.slice(open + 1, close), `${prefix}${name}.`))
      }
    } else {
      for (const d of splitTop(decl, ',')) out.push(prefix + nameOf(d))
    }
  }
  return out
}

/** Every struct of the header, as the preprocessor leaves it for one width, with its members. */
function structs(flag: string): { tag: string; paths: string[] }[] {
  const tags = [...header.matchAll(/^struct (\w+) \{/gm)].map((m) => m[1] as string)
  const text = gcc([flag, '-ffreestanding', '-E', '-P', headerFile])
  return tags.map((tag) => {
    const at = text.indexOf(`struct ${tag} {`)
    const open = text.indexOf('{', at)
    let depth = 0
    let close = open
    for (; close < text.length; close++) {
      if (text[close] === '{') depth++
      else if (text[close] === '}' && --depth === 0) break
    }
    return { tag, paths: members(text.slice(open + 1, close)) }
  })
}

/** The expressions to compare: [what, C expression]. */
function checks(flag: string): [string, string][] {
  const list: [string, string][] = macros(flag).map((n) => [n, n])
  const errnos = /enum xen_errno_value \{([^}]*)\}/.exec(header)?.[1] ?? ''
  for (const m of errnos.matchAll(/(\w+) = \d+/g)) list.push([`errno ${m[1]}`, m[1] as string])
  for (const m of header.matchAll(/^typedef .* (\w+);$/gm))
    list.push([`sizeof(${m[1]})`, `sizeof(${m[1]})`])
  for (const { tag, paths } of structs(flag)) {
    const t = `struct ${tag}`
    list.push([`sizeof(${t})`, `sizeof(${t})`])
    for (const p of paths) {
      list.push([`offsetof(${t}, ${p})`, `__builtin_offsetof(${t}, ${p})`])
      list.push([`sizeof(${t}.${p})`, `sizeof(((${t} *)0)->${p})`])
    }
  }
  return list
}

/** Compiles `prelude` plus one asm marker per check to assembly and reads the values back. */
function evaluate(
  flag: string,
  name: string,
  prelude: string[],
  args: string[],
  list: [string, string][],
) {
  const file = join(dir, `${name}${flag}.c`)
  writeFileSync(
    file,
    [
      ...prelude,
      'void tsvmm_values(void) {',
      ...list.map(
        ([, expr], i) =>
          `__asm__ volatile("\\n.ascii \\"@@ ${i} %c0 @@\\"" :: "i"((unsigned long)(${expr})));`,
      ),
      '}',
      '',
    ].join('\n'),
  )
  const asm = gcc([flag, '-ffreestanding', '-Wall', '-Werror', '-S', '-o', '-', ...args, file])
  const values = new Map<string, string>()
  for (const m of asm.matchAll(/@@ (\d+) (-?\d+) @@/g))
    values.set((list[Number(m[1])] as [string, string])[0], m[2] as string)
  return values
}

describe.each(['-m64', '-m32'])("xen-abi.h equals Xen's public headers (%s)", (flag) => {
  it('every macro, errno, typedef, struct size, member offset and member size', () => {
    const list = checks(flag)
    const ours = evaluate(flag, 'ours', ['#include "xen-abi.h"'], ['-I', src], list)
    const xen = evaluate(
      flag,
      'xen',
      [
        `#define __XEN_INTERFACE_VERSION__ ${XEN_INTERFACE_VERSION}`,
        '#include <stdint.h>',
        ...XEN_INCLUDES.map((h) => `#include <${h}>`),
        'enum xen_errno_value {',
        '#define XEN_ERRNO(name, value) name = value,',
        '#include <xen/errno.h>',
        '};',
      ],
      ['-I', xenInclude],
      list,
    )
    expect(ours.size).toBe(list.length)
    expect(xen.size).toBe(list.length)
    const differ = list
      .filter(([what]) => ours.get(what) !== xen.get(what))
      .map(([what]) => `${what}: xen-abi.h ${ours.get(what)}, Xen ${xen.get(what)}`)
    expect(differ).toEqual([])
    // The list is read from the header, so a parser gone blind would compare nothing.
    expect(list.length).toBeGreaterThan(150)
  }, 120_000)

  it("gives the shared_info layout of the ABI facts (the guests' 2-level bitmaps)", () => {
    const long = flag === '-m64'
    const list: [string, string][] = [
      ['shared_info', 'sizeof(struct shared_info)'],
      ['evtchn_mask', '__builtin_offsetof(struct shared_info, evtchn_mask)'],
      ['pending_sel', '__builtin_offsetof(struct vcpu_info, evtchn_pending_sel)'],
    ]
    const v = evaluate(flag, 'facts', ['#include "xen-abi.h"'], ['-I', src], list)
    expect(Object.fromEntries(v)).toEqual({
      shared_info: long ? '3136' : '2344',
      evtchn_mask: long ? '2560' : '2176',
      pending_sel: long ? '8' : '4',
    })
  }, 120_000)
})
