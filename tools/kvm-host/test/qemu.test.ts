import net from 'node:net'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { listenSerialPorts, qemuArgs, SERIAL_PORTS, tcgProfile } from '../lib/qemu.mjs'

const config = {
  vmlinuz: '/c/vmlinuz',
  initramfs: '/c/initramfs.cpio',
  baseDisk: '/c/base.ext4',
  image: '/r/payload.ext4',
  jobDisk: '/r/job.tar',
  smp: 2,
  memMiB: 2048,
  nonce: 'abc123',
  socketDir: '/tmp/kvmh-x',
}

describe('qemuArgs', () => {
  const args = qemuArgs(config)
  const after = (flag: string) => args.filter((_, i) => args[i - 1] === flag)

  it('keeps the settings proven stable for the nested 6.12 kernel', () => {
    expect(after('-accel')).toEqual(['tcg,thread=single'])
    expect(after('-cpu')).toEqual(['max,-cx16'])
    expect(args).toContain('-no-reboot')
    expect(after('-append')[0]).toMatch(/\bpanic=-1\b.*\bquiet\b/)
  })

  it('passes size, kernel, disks and this run nonce', () => {
    expect(after('-smp')).toEqual(['2'])
    expect(after('-m')).toEqual(['2048'])
    expect(after('-kernel')).toEqual(['/c/vmlinuz'])
    expect(after('-initrd')).toEqual(['/c/initramfs.cpio'])
    expect(after('-drive')).toEqual([
      'file=/r/payload.ext4,if=virtio,format=raw,cache=unsafe',
      'file=/r/job.tar,if=virtio,format=raw,readonly=on',
      'file=/c/base.ext4,if=virtio,format=raw,readonly=on',
    ])
    expect(after('-append')[0]).toContain('console=ttyS0')
    expect(after('-append')[0]).toContain('kvmhost.nonce=abc123')
  })

  it('wires ttyS0..2 to the console, stdout and stderr sockets in that order', () => {
    expect(after('-serial')).toEqual(['chardev:con', 'chardev:out', 'chardev:err'])
    expect(after('-chardev')).toEqual(
      SERIAL_PORTS.map((id) => `socket,id=${id},path=${path.join('/tmp/kvmh-x', id)},server=off`),
    )
  })
})

describe('listenSerialPorts', () => {
  it('routes each port to its sink and resolves once all have ended', async () => {
    const got = { con: '', out: [] as Buffer[], err: [] as Buffer[] }
    const ports = await listenSerialPorts({
      con: (s) => {
        got.con += s
      },
      out: (b) => got.out.push(b),
      err: (b) => got.err.push(b),
    })
    const send = (id: string, data: string | Buffer) =>
      new Promise<void>((resolve) => {
        const c = net.connect(path.join(ports.dir, id), () => c.end(data))
        c.on('close', () => resolve())
      })
    await Promise.all([
      send('con', 'marker\n'),
      send('out', Buffer.from([0, 1, 2, 255])),
      send('err', 'oops'),
    ])
    await ports.ended
    ports.close()
    expect(got.con).toBe('marker\n')
    expect(Buffer.concat(got.out)).toEqual(Buffer.from([0, 1, 2, 255]))
    expect(Buffer.concat(got.err).toString()).toBe('oops')
    expect(ports.dir.length).toBeLessThan(80)
  })
})

describe('tcgProfile', () => {
  it("keeps bookworm's QEMU 7.2 on max,-cx16 with one TCG thread", () => {
    const p = tcgProfile('QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u16)\n')
    expect(p).toEqual({ cpu: 'max,-cx16', thread: 'single', major: 7 })
  })

  it("gives trixie's QEMU 10 cmpxchg16b and multi-threaded TCG", () => {
    const p = tcgProfile('QEMU emulator version 10.0.6 (Debian 1:10.0.6+ds-0+deb13u2)\n')
    expect(p).toEqual({ cpu: 'max', thread: 'multi', major: 10 })
    const args = qemuArgs({ ...config, cpu: p.cpu, thread: p.thread })
    expect(args.filter((_, i) => args[i - 1] === '-accel')).toEqual(['tcg,thread=multi'])
    expect(args.filter((_, i) => args[i - 1] === '-cpu')).toEqual(['max'])
  })

  it('falls back to the conservative settings when the version cannot be read', () => {
    expect(tcgProfile('')).toEqual({ cpu: 'max,-cx16', thread: 'single', major: 0 })
  })
})
