// Builds a tsvmm VM, ready to run but with no thread started: opens /dev/kvm, picks the delivery
// mode, creates the VM with the split irqchip (local APICs in the kernel, no PIC or IOAPIC), maps
// guest RAM, loads the image and its boot structures, configures Xen HVM and creates the vCPUs
// in their boot state (as Firecracker's builder.rs does before any vCPU thread exists, so every
// vCPU ioctl here runs on the caller's thread safely).
import { GuestMemory } from '@tsvmm/guest-memory'
import { abi, isKvmError, Kvm, type Vcpu, type Vm } from '@tsvmm/kvm-sys'
import { type EvtchnClock, monotonicClock } from '@tsvmm/xen-evtchn'
import { BOOT_AREA_END, bootRegisters, writeBootStructures } from './boot/boot.js'
import { checkImageFits, type GuestImage, loadElfFile } from './boot/elf.js'
import type { RunConfig } from './cli/config.js'
import { VmmError } from './errors.js'
import { capsReport, chooseDelivery } from './xen/caps.js'
import { kvmClock } from './xen/clock.js'
import { vcpuCpuid, XEN_HYPERCALL_MSR } from './xen/cpuid.js'
import type { ActiveDelivery } from './xen/events.js'

/** The domain id of the guest (DOMID_SELF stands for it; 0 is the backend). */
export const GUEST_DOMID = 1

/** What a VM is built from. */
export interface VmSpec
  extends Pick<RunConfig, 'image' | 'memoryMiB' | 'vcpus' | 'delivery' | 'xenVersion'> {
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
  const image = loadElfFile(spec.image)
  const ramBytes = spec.memoryMiB * 1048576
  checkImageFits(image, spec.image, ramBytes, BOOT_AREA_END)
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
    vm.enableSplitIrqchip(24)
    const region = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: ramBytes })
    const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(region.buffer) }])
    writeBootStructures(memory, image.width)
    for (const s of image.segments) memory.write(s.gpa, s.data)
    if (spec.xen !== false) configureXen(vm, spec, image, delivery)
    const vcpus = createVcpus(kvm, vm, spec, image, delivery)
    return { kvm, vm, vcpus, memory, image, delivery }
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

function configureXen(vm: Vm, spec: VmSpec, image: GuestImage, delivery: ActiveDelivery): void {
  const kernel = delivery === 'kernel'
  vm.xenHvmConfig({
    flags:
      abi.KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL | (kernel ? abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND : 0),
    msr: XEN_HYPERCALL_MSR,
  })
  vm.xenHvmSetAttr({ type: 'LONG_MODE', longMode: image.width === 64 })
  if (kernel) vm.xenHvmSetAttr({ type: 'XEN_VERSION', version: xenVersionWord(spec) })
}

function createVcpus(
  kvm: Kvm,
  vm: Vm,
  spec: VmSpec,
  image: GuestImage,
  delivery: ActiveDelivery,
): Vcpu[] {
  const n = spec.vcpus
  const supported = kvm.getSupportedCpuid()
  let tscKhz = 0
  const regs = bootRegisters(image.width, image.entry)
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
    vcpu.setRegs({ ...vcpu.getRegs(), rip: regs.rip, rsp: regs.rsp, rflags: regs.rflags })
    // With the local APIC in the kernel, vCPUs but the first wait for INIT/SIPI: start them all.
    vcpu.setMpState(0)
    if (delivery === 'kernel') vcpu.xenVcpuSetAttr({ type: 'VCPU_ID', vcpuId: i })
  }
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
