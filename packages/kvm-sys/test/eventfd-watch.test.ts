// EventFd.watch: the kernel's signal on an eventfd reaches a callback on the event loop, with
// the counter, and a watch ends cleanly however its fd, its object or its thread ends.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { EventFd } from '../src/index.js'

const fixture = fileURLToPath(new URL('./fixtures/eventfd-watch.mjs', import.meta.url))

/** The next `n` counts the watch reports. */
function counts(fd: EventFd, n: number): Promise<bigint[]> {
  const got: bigint[] = []
  return new Promise((resolve) =>
    fd.watch((c) => {
      got.push(c)
      if (got.length === n) {
        fd.unwatch()
        resolve(got)
      }
    }),
  )
}

const turn = () => new Promise((r) => setTimeout(r, 20))

function child(which: string) {
  const r = spawnSync(process.execPath, [fixture, which], { encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, signal: r.signal, out: r.stdout.trim(), err: r.stderr }
}

describe('EventFd.watch', () => {
  it("the README's example prints the coalesced counter and exits", () => {
    const example = fileURLToPath(new URL('../examples/eventfd-watch.mjs', import.meta.url))
    const r = spawnSync(process.execPath, [example], { encoding: 'utf8', timeout: 30_000 })
    expect({ status: r.status, out: r.stdout, err: r.stderr }).toEqual({
      status: 0,
      out: 'signalled, counter 3\n',
      err: '',
    })
  })
  it('calls back with the counter, once per signal that finds it empty', async () => {
    const fd = EventFd.create()
    const got = counts(fd, 2)
    fd.write(2)
    fd.write(3) // before the loop turns: one call with 5
    await turn()
    fd.write(7n)
    expect(await got).toEqual([5n, 7n])
    expect(fd.watching).toBe(false)
    expect(fd.read()).toBeNull()
    fd.close()
  })

  it('a count already there when the watch starts is reported', async () => {
    const fd = EventFd.create({ initval: 4 })
    expect(await counts(fd, 1)).toEqual([4n])
    fd.close()
  })

  it('unwatch and close stop the callbacks; a new watch may follow unwatch', async () => {
    const fd = EventFd.create()
    let calls = 0
    fd.watch(() => calls++)
    fd.unwatch()
    fd.unwatch()
    fd.write(1)
    await turn()
    expect(calls).toBe(0)
    expect(fd.read()).toBe(1n) // the signal stayed in the counter
    const again = counts(fd, 1)
    fd.write(9)
    expect(await again).toEqual([9n])
    fd.watch(() => calls++)
    fd.close()
    expect(fd.watching).toBe(false)
    await turn()
    expect(calls).toBe(0)
  })

  it('refuses a second watch, a closed or blocking eventfd and a non-function', () => {
    const fd = EventFd.create()
    fd.watch(() => {})
    expect(() => fd.watch(() => {})).toThrow(
      expect.objectContaining({ name: 'KvmError', code: 'EBUSY', syscall: 'watch' }),
    )
    fd.close()
    expect(() => fd.watch(() => {})).toThrow(expect.objectContaining({ code: 'EBADF' }))
    const blocking = EventFd.create({ nonBlocking: false })
    expect(() => blocking.watch(() => {})).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'watch' }),
    )
    blocking.close()
    const other = EventFd.create()
    for (const bad of [undefined, 3, 'f', {}])
      expect(() => other.watch(bad as never)).toThrow(
        expect.objectContaining({ name: 'KvmError', code: 'EINVAL' }),
      )
    expect(other.watching).toBe(false)
    other.close()
  })

  it('survives many watches made and ended', () => {
    for (let i = 0; i < 2000; i++) {
      const fd = EventFd.create()
      fd.watch(() => {})
      if (i % 2) fd.unwatch()
      fd.close()
    }
  })

  it('a watch does not keep the process alive', () => {
    expect(child('idle')).toMatchObject({ status: 0, out: 'idle' })
  })

  it("an exception in the callback is the process's uncaught exception", () => {
    expect(child('throw')).toMatchObject({ status: 0, out: 'uncaught: from the callback' })
  })

  it('workers that end with watches on do not take the process down', () => {
    expect(child('workers')).toMatchObject({ status: 0, signal: null, out: 'workers' })
  })
})
