import { GuestMemory } from '@tsvmm/guest-memory'
import { describe, expect, it } from 'vitest'
import {
  ConsoleLines,
  guestString,
  RESULT_LAYOUT,
  readBackendRequest,
  readCheckResult,
  writeBackendReply,
} from '../../src/devices/guest-protocol.js'

const mem = () => new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x10000) }])

function putResult(m: GuestMemory, at: number, name: string, status = 0, message = 'ok') {
  m.writeU32(at, RESULT_LAYOUT.MAGIC)
  m.writeU32(at + 4, 1)
  m.writeU32(at + 8, status)
  m.writeU32(at + 12, -22 >>> 0)
  m.write(at + 16, new TextEncoder().encode(`${name}\0`))
  m.write(at + 48, new TextEncoder().encode(`${message}\0`))
}

describe('result records', () => {
  it('decodes a record written the way tools/guests/src/protocol.h lays it out', () => {
    const m = mem()
    putResult(m, 0x1000, 'ipi', 0, 'sent to vcpu1')
    expect(readCheckResult(m, 0x1000)).toEqual({
      vcpu: 1,
      name: 'ipi',
      passed: true,
      detail: -22,
      message: 'sent to vcpu1',
    })
    putResult(m, 0x2000, 'x', 1)
    expect(readCheckResult(m, 0x2000)).toMatchObject({ passed: false })
  })

  it('refuses records outside RAM, with a bad magic, status or no name', () => {
    const m = mem()
    expect(readCheckResult(m, 0xfff0)).toMatch(/not inside guest RAM/)
    expect(readCheckResult(m, 0x3000)).toMatch(/bad magic/)
    putResult(m, 0x4000, 'a', 7)
    expect(readCheckResult(m, 0x4000)).toMatch(/status 7/)
    putResult(m, 0x5000, '')
    expect(readCheckResult(m, 0x5000)).toMatch(/no name/)
  })

  it('keeps only printable ASCII of guest strings, up to the NUL or the array end', () => {
    expect(guestString(new Uint8Array([0x41, 0x1b, 0x5b, 0x32, 0x4a, 0xff, 0, 0x42]))).toBe(
      'A?[2J?',
    )
    expect(guestString(new Uint8Array(40).fill(0x61))).toBe('a'.repeat(40))
  })
})

describe('backend requests', () => {
  it('reads a request and writes the reply in place', () => {
    const m = mem()
    m.writeU32(0x100, 0x42565354)
    m.writeU32(0x104, 2)
    m.writeU32(0x108, 7)
    m.writeU32(0x10c, 3)
    expect(readBackendRequest(m, 0x100)).toEqual({ op: 2, port: 7, count: 3 })
    writeBackendReply(m, 0x100, { status: -22, count: 9, backendPort: 7 })
    expect(m.readU32(0x110) | 0).toBe(-22)
    expect(m.readU32(0x10c)).toBe(9)
    expect(m.readU32(0x114)).toBe(7)
    expect(readBackendRequest(m, 0x200)).toMatch(/bad magic/)
    expect(readBackendRequest(m, 0xfff8)).toMatch(/not inside guest RAM/)
  })
})

describe('console lines', () => {
  it('splits on newlines, drops control characters and cuts endless lines', () => {
    const c = new ConsoleLines()
    expect(c.push(new TextEncoder().encode('he\x07llo\nwor'))).toEqual(['hello'])
    expect(c.push([0x6c, 0x64, 0x0a])).toEqual(['world'])
    expect(c.push(new Uint8Array(5000).fill(0x78))).toEqual(['x'.repeat(4096)])
    expect(c.flush()).toBe('x'.repeat(904))
    expect(c.flush()).toBeUndefined()
  })
})
