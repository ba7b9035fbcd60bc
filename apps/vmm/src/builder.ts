// Builds a tsvmm VM, ready to run but with no thread started: opens /dev/kvm, picks the delivery
// mode, creates the VM, maps guest RAM, loads the image and its boot structures, configures Xen
// HVM and creates the vCPUs in their boot state (as Firecracker's builder.rs does before any vCPU
// thread exists, so every vCPU ioctl here runs on the caller's thread safely).
// An ELF test guest gets the split irqchip (local APICs in the kernel, no PIC or IOAPIC) and every
// vCPU started at its entry. A Linux bzImage gets a PC: the full in-kernel irqchip (PIC, IOAPIC,
// local APICs) and PIT, as KVM's own Xen selftests use (tools/testing/selftests/kvm/x86_64/
// xen_shinfo_test.c creates the in-kernel irqchip), so Linux's legacy timer check, its PIC masking
// and the UART's ISA IRQ need no userspace interrupt controller; the qemu64-like CPU model; and
// only the bootstrap vCPU started: the others wait in KVM for the guest's INIT/SIPI.

import { readFileSync } from 'node:fs'
import { GuestMemory } from '@tsvmm/guest-memory'
import { abi, isKvmError, Kvm, type Vcpu, type Vm } from '@tsvmm/kvm-sys'
import { type EvtchnClock, monotonicClock } from '@tsvmm/xen-evtchn'
import {
  BOOT_AREA_END,
  type BootRegisters,
  bootRegisters,
  writeBootStructures,
} from './boot/boot.js'
import { looksLikeBzImage } from './boot/bzimage.js'
import { ramRanges } from './boot/e820.js'
import { checkImageFits, type GuestImage, loadElfFile } from './boot/elf.js'
import { loadLinux } from './boot/linux.js'
import { VmmError } from './errors.js'
import type { RunConfig } from './run-config.js'
import { baselineCpuid } from './vcpu/cpu-model.js'
import { capsReport, chooseDelivery } from './xen/caps.js'
import { kvmClock } from './xen/clock.js'
import { vcpuCpuid, XEN_HYPERCALL_MSR } from './xen/cpuid.js'
import type { ActiveDelivery } from './xen/events.js'

/** The domain id of the guest (DOMID_SELF stands for it; 0 is the backend). */
export const GUEST_DOMID = 1

/** What a VM is built from. */
export interface VmSpec
  extends Pick<RunConfig, 'image' | 'memoryMiB' | 'vcpus' | 'delivery' | 'xenVersion'>,
    Partial<Pick<RunConfig, 'initrd' | 'cmdline'>> {
  /**
   * false: no Xen HVM set-up at all (no hypercall interception, Xen attributes or kernel
   * delivery), for guests that never use Xen, e.g. the bench guest on a KVM without Xen support.
   * Default true.
   */
  xen?: boolean
}

/** A built VM. Its owner closes `vm` and `kvm`. */
export interface BuiltVm {
  readonly kvm: Kvm
  readonly vm: Vm
  readonly vcpus: readonly Vcpu[]
  readonly memory: GuestMemory
  readonly image: GuestImage
  readonly delivery: ActiveDelivery
  /** A Linux guest on the PC platform (in-kernel irqchip and PIT, devices on ports). */
  readonly linux: boolean
  /** KVM keeps Xen runstate areas (KVM_XEN_HVM_CONFIG_RUNSTATE). */
  readonly kvmRunstate: boolean
}

/** The time-stamp counter MSR. */
const IA32_TSC = 0x10
/** Where KVM puts the VMX real-mode TSS (3 pages below the BIOS area, as QEMU and Firecracker). */
const TSS_ADDR = 0xfffbd000

/** The first bytes of a file, for telling an ELF from a bzImage. */
function readHead(path: string): Uint8Array {
  try {
    return readFileSync(path).subarray(0, 0x300)
  } catch {
    return new Uint8Array(0) // loadElfFile reports the unreadable file
  }
}

function readInput(what: string, path: string): Uint8Array {
  try {
    return readFileSync(path)
  } catch (e) {
    throw new VmmError(
      'usage',
      `cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'EIO'}`,
    )
  }
}

/** A bzImage's parts as the builder needs them: the loaded guest and the BSP's registers. */
interface LinuxImage {
  kernel: Uint8Array
  initrd?: Uint8Array
}

/** A KVM failure while setting up, as a VmmError. */
export function kvmFailure(what: string, e: unknown): VmmError {
  if (isKvmError(e))
    return new VmmError(
      'kvm',
      `${what}: ${e.syscall}: ${e.code}${e.detail ? ` (${e.detail})` : ''}`,
      e.hint,
    )
  return new VmmError('internal', `${what}: ${e instanceof Error ? e.message : String(e)}`)
}

/** Opens /dev/kvm or explains why it cannot. */
export function openKvm(): Kvm {
  try {
    return Kvm.open()
  } catch (e) {
    if (isKvmError(e))
      throw new VmmError(
        'kvm',
        `cannot use /dev/kvm: ${e.code}${e.detail ? ` (${e.detail})` : ''}`,
        e.hint ?? 'run inside tools/kvm-host: `pnpm kvm-host -- <command>`',
      )
    throw e
  }
}

/** Builds the VM `spec` describes; throws a VmmError (and leaks nothing) when it cannot. */
export function buildVm(spec: VmSpec): BuiltVm {
  const ramBytes = spec.memoryMiB * 1048576
  let linux: LinuxImage | undefined
  let image: GuestImage
  if (looksLikeBzImage(readHead(spec.image))) {
    linux = {
      kernel: readInput('kernel', spec.image),
      ...(spec.initrd !== undefined && { initrd: readInput('initrd', spec.initrd) }),
    }
    image = { width: 64, entry: 0, segments: [], end: 0 }
  } else {
    if (spec.initrd !== undefined)
      throw new VmmError('usage', `--initrd needs a Linux bzImage; ${spec.image} is not one`)
    image = loadElfFile(spec.image)
    checkImageFits(image, spec.image, ramBytes, BOOT_AREA_END)
  }
  const kvm = openKvm()
  let delivery: ActiveDelivery
  let vm: Vm
  try {
    delivery =
      spec.xen === false ? 'user' : chooseDelivery(capsReport(kvm.capabilities()), spec.delivery)
    vm = kvm.createVm()
  } catch (e) {
    kvm.close()
    throw e instanceof VmmError ? e : kvmFailure('KVM_CREATE_VM', e)
  }
  try {
    let regs: BootRegisters & { rsi?: bigint }
    let memory: GuestMemory
    if (linux !== undefined) {
      vm.createIrqchip()
      vm.createPit2(abi.KVM_PIT_SPEAKER_DUMMY)
      vm.setTssAddr(TSS_ADDR)
      memory = new GuestMemory(
        ramRanges(ramBytes).map((r, slot) => {
          const region = vm.addMemoryRegion({ slot, guestPhysAddr: r.gpa, size: r.size })
          return { gpa: r.gpa, bytes: new Uint8Array(region.buffer) }
        }),
      )
      regs = loadLinux(memory, {
        ...linux,
        cmdline: spec.cmdline ?? '',
        ramBytes,
        vcpus: spec.vcpus,
      }).registers
    } else {
      vm.enableSplitIrqchip(24)
      const region = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: ramBytes })
      memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(region.buffer) }])
      writeBootStructures(memory, image.width)
      for (const s of image.segments) memory.write(s.gpa, s.data)
      regs = bootRegisters(image.width, image.entry)
    }
    if (spec.xen !== false) configureXen(vm, spec, delivery)
    const vcpus = createVcpus(kvm, vm, spec, regs, linux !== undefined)
    const kvmRunstate = kvm.capabilities().xenHvm.features.RUNSTATE === true
    return { kvm, vm, vcpus, memory, image, delivery, linux: linux !== undefined, kvmRunstate }
  } catch (e) {
    vm.close()
    kvm.close()
    throw e instanceof VmmError ? e : kvmFailure('setting up the VM', e)
  }
}

/** The Xen version as Xen encodes it: major << 16 | minor. */
export function xenVersionWord(spec: Pick<RunConfig, 'xenVersion'>): number {
  return (spec.xenVersion.major << 16) | spec.xenVersion.minor
}

function configureXen(vm: Vm, spec: VmSpec, delivery: ActiveDelivery): void {
  const kernel = delivery === 'kernel'
  vm.xenHvmConfig({
    flags:
      abi.KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL | (kernel ? abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND : 0),
    msr: XEN_HYPERCALL_MSR,
  })
  // LONG_MODE, like every event channel attribute, is the kernel offload's (xen/events.ts).
  if (kernel) vm.xenHvmSetAttr({ type: 'XEN_VERSION', version: xenVersionWord(spec) })
}

function createVcpus(
  kvm: Kvm,
  vm: Vm,
  spec: VmSpec,
  regs: BootRegisters & { rsi?: bigint },
  linux: boolean,
): Vcpu[] {
  const n = spec.vcpus
  const supported = linux ? baselineCpuid(kvm.getSupportedCpuid()) : kvm.getSupportedCpuid()
  let tscKhz = 0
  const vcpus: Vcpu[] = []
  for (let i = 0; i < n; i++) {
    const vcpu = vm.createVcpu(i)
    vcpus.push(vcpu)
    if (i === 0) {
      try {
        tscKhz = vcpu.getTscKhz()
      } catch {
        tscKhz = 0
      }
    }
    vcpu.setCpuid2(
      vcpuCpuid(supported, i, n, {
        version: xenVersionWord(spec),
        tscKhz,
        domid: GUEST_DOMID,
        perVcpuUpcallVector: true,
      }),
    )
    // Linux: the APs keep KVM's reset state and wait for the guest's INIT/SIPI.
    if (linux && i > 0) continue
    const s = vcpu.getSregs()
    vcpu.setSregs({
      ...s,
      cs: regs.cs,
      ds: regs.data,
      es: regs.data,
      fs: regs.data,
      gs: regs.data,
      ss: regs.data,
      tr: regs.tr,
      ldt: regs.ldt,
      gdt: regs.gdt,
      idt: regs.idt,
      cr0: regs.cr0,
      cr3: regs.cr3,
      cr4: regs.cr4,
      efer: regs.efer,
    })
    vcpu.setRegs({
      ...vcpu.getRegs(),
      rip: regs.rip,
      rsp: regs.rsp,
      rflags: regs.rflags,
      ...(regs.rsi !== undefined && { rsi: regs.rsi }),
    })
    // The test guests' contract: every vCPU starts at the entry (KVM would hold the APs for SIPI).
    if (!linux) vcpu.setMpState(0)
  }
  // One TSC for all: host writes of the same IA32_TSC value close together make KVM match the
  // vCPUs' offsets (kvm_synchronize_tsc), as QEMU's reset does; else Linux measures a warp
  // between the BSP and an AP started later and marks the TSC unstable.
  if (linux) for (const v of vcpus) v.setMsrs([{ index: IA32_TSC, data: 0n }])
  return vcpus
}

/**
 * The clock of the engine's timers: the VM's kvmclock where KVM_GET_CLOCK works (what the guest's
 * pvclock reads), else the host's monotonic clock, with a warning through `warn`.
 */
export function engineClock(vm: Vm, warn: (message: string) => void): EvtchnClock {
  try {
    vm.getClock()
    return kvmClock(vm)
  } catch {
    warn('KVM_GET_CLOCK is not available: timers use the host clock, not the guest pvclock')
    return monotonicClock()
  }
}
