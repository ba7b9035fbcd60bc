import { describe, expect, it } from 'vitest'
import { GuestConsole, parseMarker, type RunEnd, verdict } from '../lib/console.mjs'
import { EXIT } from '../lib/errors.mjs'

const nonce = '0123456789abcdef'
const mark = (uptime: string, rest: string) => `@@kvm-host:${nonce}:${uptime}:${rest}`
const end: RunEnd = {
  bootTimedOut: false,
  timedOut: false,
  qemuStatus: 0,
  qemuStderr: '',
  timeoutSec: 1200,
  bootTimeoutSec: 180,
}

describe('parseMarker', () => {
  it('reads uptime, event and arguments of this run', () => {
    expect(parseMarker(mark('3.52', 'exit 7'), nonce)).toEqual({
      uptime: 3.52,
      event: 'exit',
      args: '7',
    })
    expect(parseMarker(mark('1.00', 'init'), nonce)).toEqual({ uptime: 1, event: 'init', args: '' })
  })

  it('ignores other lines, markers of another nonce and malformed markers', () => {
    expect(parseMarker('[    1.2] kvm: Nested Virtualization enabled', nonce)).toBeNull()
    expect(parseMarker(mark('1.0', 'exit 0').replace(nonce, 'ffffffffffffffff'), nonce)).toBeNull()
    expect(parseMarker(`@@kvm-host:${nonce}:x:exit 0`, nonce)).toBeNull()
    expect(parseMarker(`@@kvm-host:${nonce}:1.0:`, nonce)).toBeNull()
  })

  it('finds a marker after console noise on the same line', () => {
    expect(parseMarker(`\r${mark('2.5', 'start')}\r`, nonce)?.event).toBe('start')
  })
})

describe('GuestConsole', () => {
  it('joins chunks split anywhere and takes the exit status from the exit marker', () => {
    const text = `${mark('1.0', 'init')}\nnoise\r\n${mark('2.0', 'start')}\n${mark('3.0', 'exit 42')}\n`
    for (let cut = 0; cut < text.length; cut += 7) {
      const c = new GuestConsole(nonce)
      c.push(text.slice(0, cut))
      c.push(text.slice(cut))
      c.end()
      expect(c.exitStatus).toBe(42)
      expect(c.booted).toBe(true)
      expect(c.tail).toEqual(['noise'])
    }
  })

  it('reports markers and other lines to its hooks', () => {
    const events: string[] = []
    const lines: string[] = []
    const c = new GuestConsole(nonce, {
      onMarker: (m) => events.push(m.event),
      onLine: (l) => lines.push(l),
    })
    c.push(`a\n${mark('1', 'init')}\n${mark('2', 'modules')}\nb`)
    c.end()
    expect(events).toEqual(['init', 'modules'])
    expect(lines).toEqual(['a', 'b'])
  })

  it('maps an out-of-range exit status to the lost-guest code', () => {
    const c = new GuestConsole(nonce)
    c.push(`${mark('1', 'exit 300')}\n`)
    expect(c.exitStatus).toBe(EXIT.LOST)
  })

  it('keeps only the last 40 lines for error messages', () => {
    const c = new GuestConsole(nonce)
    for (let i = 0; i < 100; i++) c.push(`line ${i}\n`)
    expect(c.tail).toHaveLength(40)
    expect(c.tail[39]).toBe('line 99')
  })
})

/** A console that has seen the given lines. */
function consoleOf(...lines: string[]) {
  const c = new GuestConsole(nonce)
  c.push(lines.map((l) => `${l}\n`).join(''))
  return c
}

describe('verdict', () => {
  it('passes the command exit status through, whatever it is', () => {
    for (const rc of [0, 1, 3, 124, 125, 255])
      expect(verdict(consoleOf(mark('1', 'init'), mark('9', `exit ${rc}`)), end)).toEqual({
        code: rc,
      })
  })

  it('tells a kernel panic apart', () => {
    const v = verdict(
      consoleOf(mark('1', 'init'), 'Kernel panic - not syncing: Fatal exception'),
      end,
    )
    expect(v.code).toBe(EXIT.PANIC)
    expect(v.message).toContain('Kernel panic')
  })

  it('maps failures reported by /init to their codes', () => {
    const kvm = verdict(consoleOf(mark('1', 'init'), mark('2', 'fail modules insmod kvm: -1')), end)
    expect(kvm.code).toBe(EXIT.NO_KVM)
    expect(kvm.message).toContain('insmod kvm')
    expect(verdict(consoleOf(mark('1', 'init'), mark('2', 'fail kvm no /dev/kvm')), end).code).toBe(
      EXIT.NO_KVM,
    )
    expect(verdict(consoleOf(mark('1', 'init'), mark('2', 'fail payload mount')), end).code).toBe(
      EXIT.HARNESS,
    )
  })

  it('tells a guest that never came up from a command that ran too long', () => {
    expect(verdict(consoleOf('early noise'), { ...end, bootTimedOut: true }).code).toBe(
      EXIT.NO_BOOT,
    )
    expect(verdict(consoleOf(), { ...end, timedOut: true }).code).toBe(EXIT.NO_BOOT)
    const t = verdict(consoleOf(mark('1', 'init'), mark('2', 'start')), { ...end, timedOut: true })
    expect(t.code).toBe(EXIT.TIMEOUT)
    expect(t.message).toContain('1200 s')
  })

  it('reports QEMU failing to start with its own words', () => {
    const v = verdict(consoleOf(), {
      ...end,
      qemuStatus: 1,
      qemuStderr: "qemu-system-x86_64: -drive file=x: Could not open 'x'\n",
    })
    expect(v.code).toBe(EXIT.NO_BOOT)
    expect(v.message).toContain("Could not open 'x'")
  })

  it('calls a guest that stopped without an exit status lost', () => {
    expect(verdict(consoleOf(mark('1', 'init'), mark('2', 'start')), end).code).toBe(EXIT.LOST)
  })

  it('uses distinct codes for distinct harness failures, none of them 0', () => {
    const codes = Object.values(EXIT)
    expect(new Set(codes).size).toBe(codes.length)
    expect(codes.every((c) => c >= 117 && c <= 125)).toBe(true)
  })
})
