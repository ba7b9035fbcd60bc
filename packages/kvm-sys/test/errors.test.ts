// KvmError and the error paths that need no KVM: a missing device, a file that is not KVM,
// capability hints, closed EventFds.
import { describe, expect, it } from 'vitest'
import { withCapability } from '../src/capability-hint.js'
import { EventFd, errnoName, isKvmError, Kvm, KvmError } from '../src/index.js'

describe('KvmError', () => {
  it('carries the errno name, number, syscall, detail and hint', () => {
    const e = new KvmError(22, 'KVM_SET_GSI_ROUTING')
    expect(e).toBeInstanceOf(Error)
    expect(e).toMatchObject({ name: 'KvmError', code: 'EINVAL', errno: -22 })
    expect(e.syscall).toBe('KVM_SET_GSI_ROUTING')
    expect(e.hint).toContain('routing table')
    expect(e.message).toMatch(/^KVM_SET_GSI_ROUTING: EINVAL \(invalid argument\)\. Hint: /)
    expect(isKvmError(e)).toBe(true)
    expect(isKvmError(new Error('x'))).toBe(false)
  })

  it('names errnos the way Node does', () => {
    expect(errnoName(2)).toBe('ENOENT')
    expect(errnoName(25)).toBe('ENOTTY')
    expect(errnoName(9999)).toBe('E9999')
  })

  it('withHint replaces the hint and the hint part of the message', () => {
    const e = new KvmError(22, 'KVM_XEN_HVM_CONFIG').withHint('first')
    e.withHint('second')
    expect(e.hint).toBe('second')
    expect(e.message).toBe('KVM_XEN_HVM_CONFIG: EINVAL (invalid argument). Hint: second')
  })

  it('a closed object says so', () => {
    const e = new KvmError(9, 'KVM_RUN', 'vcpu closed')
    expect(e.code).toBe('EBADF')
    expect(e.hint).toContain('vcpu closed')
  })
})

describe('Kvm.open without a KVM device', () => {
  it('a missing device is ENOENT (errno -2, as Node) with a hint naming no repository command', () => {
    const path = '/dev/kvm-does-not-exist'
    let err: unknown
    try {
      Kvm.open(path)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(KvmError)
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', detail: path })
    expect((err as KvmError).hint).toContain('kvm_amd')
    expect((err as KvmError).hint).not.toMatch(/pnpm|kvm-host/)
  })

  it('a file that is not KVM fails KVM_GET_API_VERSION with ENOTTY', () => {
    expect(() => Kvm.open('/dev/null')).toThrow(
      expect.objectContaining({
        code: 'ENOTTY',
        syscall: 'KVM_GET_API_VERSION',
        hint: 'the file is not a KVM device',
      }),
    )
  })

  it('EACCES and ENXIO get their own hints', () => {
    expect(new KvmError(13, 'open', '/dev/kvm').hint).toContain('kvm group')
    expect(new KvmError(6, 'open', '/dev/kvm').hint).toContain('module')
  })
})

describe('capability hints', () => {
  const fail = () => {
    throw new KvmError(25, 'KVM_XEN_HVM_CONFIG')
  }

  it('name the capability when KVM_CHECK_EXTENSION says 0', () => {
    expect(() => withCapability({ cap: 38, name: 'KVM_CAP_XEN_HVM' }, () => 0, fail)).toThrow(
      expect.objectContaining({ hint: expect.stringContaining('lacks KVM_CAP_XEN_HVM') }),
    )
  })

  it('name the missing KVM_XEN_HVM_CONFIG feature bits', () => {
    const need = { cap: 38, name: 'KVM_CAP_XEN_HVM', feature: (1 << 5) | (1 << 8) }
    expect(() => withCapability(need, () => 1 << 5, fail)).toThrow(
      expect.objectContaining({
        hint: "the kernel's KVM_CAP_XEN_HVM lacks KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA",
      }),
    )
  })

  it('leave the error alone when the capability is there', () => {
    let err: KvmError | undefined
    try {
      withCapability({ cap: 38, name: 'KVM_CAP_XEN_HVM', feature: 1 }, () => 0x1ff, fail)
    } catch (e) {
      err = e as KvmError
    }
    expect(err?.hint).toBeUndefined()
    expect(
      withCapability(
        { cap: 1, name: 'X' },
        () => 0,
        () => 7,
      ),
    ).toBe(7)
  })
})

describe('EventFd', () => {
  it('counts writes, reads them back, and returns null when empty', () => {
    const ev = EventFd.create()
    expect(ev.fd).toBeGreaterThan(2)
    expect(ev.read()).toBeNull()
    ev.write()
    ev.write(41)
    expect(ev.read()).toBe(42n)
    expect(ev.read()).toBeNull()
    ev.close()
  })

  it('semaphore mode takes one per read', () => {
    const ev = EventFd.create({ initval: 2, semaphore: true })
    expect([ev.read(), ev.read(), ev.read()]).toEqual([1n, 1n, null])
    ev.close()
  })

  it('a closed EventFd throws EBADF and reports fd -1', () => {
    const ev = EventFd.create()
    ev.close()
    ev.close()
    expect(ev.closed).toBe(true)
    expect(ev.fd).toBe(-1)
    expect(() => ev.write()).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'write' }))
    expect(() => ev.read()).toThrow(KvmError)
  })

  it('refuses values that are not u64', () => {
    const ev = EventFd.create()
    for (const v of [-1, 1n << 64n, 1.5, Number.NaN, '1', null])
      expect(() => ev.write(v as never)).toThrow(expect.objectContaining({ code: 'EINVAL' }))
    ev.close()
  })
})
