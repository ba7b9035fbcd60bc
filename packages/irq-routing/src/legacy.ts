// The routes KVM installs by itself when the VMM creates the in-kernel irqchip
// (kvm_setup_default_irq_routing, arch/x86/kvm/irq_comm.c): GSI n goes to IOAPIC pin n for
// n < 24 and, for n < 16, also to pin n % 8 of the PIC master (n < 8) or slave.
import {
  KVM_IRQCHIP_IOAPIC,
  KVM_IRQCHIP_PIC_MASTER,
  KVM_IRQCHIP_PIC_SLAVE,
} from '@tsvmm/kvm-sys/abi'
import type { IrqchipRoute } from './entry.js'

/** GSIs 0-23 belong to the legacy PIC/IOAPIC pins; the allocator never hands them out. */
export const LEGACY_GSI_COUNT = 24
/** GSIs 0-15 are also wired to the two 8259 PICs. */
export const PIC_GSI_COUNT = 16

/**
 * The default table of KVM_CREATE_IRQCHIP, in the kernel's order: for each GSI the IOAPIC route,
 * then the PIC route. 40 entries.
 */
export function defaultIrqchipRoutes(): IrqchipRoute[] {
  const routes: IrqchipRoute[] = []
  for (let gsi = 0; gsi < LEGACY_GSI_COUNT; gsi++) {
    routes.push({ gsi, type: 'irqchip', irqchip: KVM_IRQCHIP_IOAPIC, pin: gsi })
    if (gsi < PIC_GSI_COUNT) {
      const irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE
      routes.push({ gsi, type: 'irqchip', irqchip, pin: gsi % 8 })
    }
  }
  return routes
}
