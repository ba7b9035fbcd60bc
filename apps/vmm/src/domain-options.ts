// What the machine gives the Xen side of its VM (xen/domain.ts): the built VM's parts, the Xen
// version and uuid of the configuration, and for a Linux guest its PV devices, on the pages the
// e820 map reserves for them (boot/e820.ts). Kept apart from machine.ts, which runs the VM.
import { XEN_GRANT_FRAMES, xenSpecialPages } from './boot/e820.js'
import { type BuiltVm, engineClock, GUEST_DOMID, xenVersionWord } from './builder.js'
import type { MachineOptions, MachineOutput } from './machine-api.js'
import type { VcpuOps } from './vcpu/threads.js'
import type { ConsoleInputSource } from './xen/console.js'
import type { XenDomainOptions } from './xen/domain.js'

/** The machine's hooks the domain calls, and where a Linux guest's hvc0 input comes from. */
export type DomainHooks = Pick<XenDomainOptions, 'shutdown' | 'bug'> & {
  consoleInput?: ConsoleInputSource | undefined
}

/** The options of the XenDomain of a VM `built` from `config`. */
export function domainOptions(
  config: MachineOptions,
  built: BuiltVm,
  vcpus: VcpuOps,
  out: MachineOutput,
  hooks: DomainHooks,
): XenDomainOptions {
  const xen = config.xen !== false
  const pages = xenSpecialPages(config.memoryMiB * 1048576)
  return {
    vm: built.vm,
    vcpus,
    memory: built.memory,
    delivery: built.delivery,
    domid: GUEST_DOMID,
    xenVersion: xenVersionWord(config),
    longMode: built.image.width === 64,
    xen,
    clock: engineClock(built.vm, (m) => out.log('warn', m)),
    irqchip: built.linux ? 'kernel' : 'split',
    kvmRunstate: built.kvmRunstate,
    ...(config.uuid !== undefined && { uuid: config.uuid }),
    // The ELF test guests have no e820 map, so no pages set aside: only Linux gets PV devices.
    ...(built.linux &&
      xen && {
        pv: {
          storeGpa: pages.store,
          consoleGpa: pages.console,
          grantTableGpa: pages.grantTable,
          grantFrames: XEN_GRANT_FRAMES,
          consoleOutput: (bytes: Uint8Array) => out.hvc(bytes),
          ...(hooks.consoleInput !== undefined && { consoleInput: hooks.consoleInput }),
          name: 'tsvmm',
          memoryKiB: config.memoryMiB * 1024,
        },
      }),
    log: (level, m) => out.log(level, m),
    shutdown: hooks.shutdown,
    bug: hooks.bug,
  }
}
