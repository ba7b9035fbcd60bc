// Kvm (the system fd) and object lifetimes on real KVM.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import * as abi from '../src/abi.js'
import { Kvm, KvmError } from '../src/index.js'
import { enterRealMode, fdCount } from './helpers/guest.js'

const kvm = Kvm.open()
afterAll(() => kvm.close())

describe('Kvm', () => {
  it('KVM_GET_API_VERSION is 12 and KVM_GET_VCPU_MMAP_SIZE covers struct kvm_run', () => {
    expect(kvm.apiVersion()).toBe(abi.KVM_API_VERSION)
    expect(kvm.vcpuMmapSize()).toBeGreaterThanOrEqual(abi.kvm_run.size)
    expect(kvm.vcpuMmapSize() % 4096).toBe(0)
  })

  it('KVM_CHECK_EXTENSION answers per capability', () => {
    expect(kvm.checkExtension(abi.Cap.USER_MEMORY)).toBeGreaterThan(0)
    expect(kvm.checkExtension(abi.Cap.IMMEDIATE_EXIT)).toBeGreaterThan(0)
    expect(kvm.checkExtension(0x7fffffff)).toBe(0)
  })

  it('capabilities() is plain JSON with the named caps and the decoded Xen flags', () => {
    const report = kvm.capabilities()
    expect(JSON.parse(JSON.stringify(report))).toEqual(report)
    expect(report.apiVersion).toBe(12)
    expect(report.capabilities.IRQ_ROUTING).toBe(abi.KVM_MAX_IRQ_ROUTES)
    expect(report.capabilities.IRQFD).toBeGreaterThan(0)
    const { flags, features } = report.xenHvm
    for (const [name, bit] of Object.entries(abi.KVM_XEN_HVM_CONFIG_FLAGS))
      expect(features[name as keyof typeof features], name).toBe((flags & bit) !== 0)
    expect(report.kickSignal).toBeGreaterThanOrEqual(32)
  })

  it('KVM_GET_SUPPORTED_CPUID lists leaf 0 with the highest basic leaf', () => {
    const cpuid = kvm.getSupportedCpuid()
    const leaf0 = cpuid.find((e) => e.function === 0)
    expect(leaf0?.eax).toBeGreaterThanOrEqual(1)
    expect(cpuid.some((e) => e.function === 1)).toBe(true)
  })

  it('KVM_GET_SUPPORTED_CPUID with too little room is E2BIG', () => {
    expect(() => kvm.getSupportedCpuid(1)).toThrow(expect.objectContaining({ code: 'E2BIG' }))
  })

  it('KVM_GET_MSR_INDEX_LIST includes IA32_SYSENTER_CS and IA32_TSC', () => {
    const msrs = kvm.getMsrIndexList()
    expect(msrs).toContain(0x174)
    expect(msrs).toContain(0x10)
  })
})

describe('lifetimes', () => {
  it('1000 VM create/close cycles leave the fd count unchanged', () => {
    const before = fdCount()
    for (let i = 0; i < 1000; i++) {
      const vm = kvm.createVm()
      const region = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 })
      const vcpu = vm.createVcpu(0)
      vm.close()
      expect(region.buffer.byteLength).toBe(0)
      expect(vcpu.closed).toBe(true)
    }
    expect(fdCount()).toBe(before)
  })

  it('soak: 200 VMs created, run to HLT and closed leave fd count and RSS flat', () => {
    // Each VM has 1 MiB of RAM, so a leaked region (or its mapping) shows as ~1 MiB of RSS per
    // cycle; a leaked vCPU or kvm_run mapping shows in the fd count. RSS is compared after a
    // warm-up (V8 and the addon settle in the first cycles), against a bound well under the
    // 180 MiB that leaking every guest's RAM would add.
    const RAM = 0x100000
    const cycle = () => {
      const vm = kvm.createVm()
      const region = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: RAM })
      const ram = new Uint8Array(region.buffer)
      ram.fill(0x90, 0x1000, 0x1000 + 64) // nops, then hlt: the guest touches its RAM
      ram[0x1000 + 64] = 0xf4
      ram.fill(1, 0x2000, RAM) // and so does the VMM: the RSS is real
      const vcpu = vm.createVcpu(0)
      enterRealMode(vcpu)
      expect(vcpu.run()).toBe(abi.KVM_EXIT_HLT)
      vm.close()
    }
    const fdsBefore = fdCount()
    for (let i = 0; i < 20; i++) cycle()
    const rssWarm = process.memoryUsage().rss
    for (let i = 20; i < 200; i++) cycle()
    const grownMiB = (process.memoryUsage().rss - rssWarm) / 2 ** 20
    expect(fdCount()).toBe(fdsBefore)
    expect(grownMiB).toBeLessThan(48)
  })

  it('a closed VM or vCPU throws EBADF and its buffers are detached', () => {
    const vm = kvm.createVm()
    const region = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 })
    const vcpu = vm.createVcpu(0)
    vm.close()
    vm.close() // idempotent
    expect(region.buffer.byteLength).toBe(0)
    expect(vcpu.kvmRun.bytes.buffer.byteLength).toBe(0)
    expect(() => vcpu.run()).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'KVM_RUN' }))
    expect(() => vcpu.getRegs()).toThrow(KvmError)
    expect(() => vm.createVcpu(1)).toThrow(expect.objectContaining({ code: 'EBADF' }))
    expect(() => vm.addMemoryRegion({ slot: 1, guestPhysAddr: 0, size: 4096 })).toThrow(
      expect.objectContaining({ code: 'EBADF', hint: expect.stringContaining('closed') }),
    )
  })

  it('file descriptors are closed when the objects are collected', () => {
    // A child with --expose-gc creates VMs, drops them, collects, and reports its fd counts.
    const dist = new URL('../dist/index.js', import.meta.url).href
    const script = `
      const { Kvm } = await import(${JSON.stringify(dist)})
      const { readdirSync } = await import('node:fs')
      const count = () => readdirSync('/proc/self/fd').length
      const kvm = Kvm.open()
      const before = count()
      const make = () => {
        const vm = kvm.createVm()
        vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 })
        vm.createVcpu(0)
      }
      for (let i = 0; i < 50; i++) make()
      const held = count()
      for (let i = 0; i < 20 && count() > before; i++) {
        globalThis.gc()
        await new Promise((r) => setTimeout(r, 20))
      }
      console.log(JSON.stringify({ before, held, after: count() }))
    `
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    })
    expect(r.stderr).toBe('')
    const { before, held, after } = JSON.parse(r.stdout)
    expect(held).toBeGreaterThanOrEqual(before + 100)
    expect(after).toBe(before)
  })
})
