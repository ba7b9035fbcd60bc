// RoutingTable on a real VM: an irqfd raising a Xen event channel port through a GSI route.
// Needs /dev/kvm; here: pnpm kvm-host -- node packages/irq-routing/examples/routing-table.mjs

import { RoutingTable } from '@tsvmm/irq-routing'
import { abi, EventFd, Kvm } from '@tsvmm/kvm-sys'

const kvm = Kvm.open()
const vm = kvm.createVm()
vm.createIrqchip() // KVM installs the default PIC/IOAPIC routes; RoutingTable starts from them
const ram = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x20_0000 })
vm.xenHvmConfig({ flags: abi.KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL, msr: 0x4000_0000 })
vm.xenHvmSetAttr({ type: 'LONG_MODE', longMode: true })
vm.xenHvmSetAttr({ type: 'SHARED_INFO', gfn: 0x10n }) // shared_info at 0x10000
const vcpu = vm.createVcpu(0)
vcpu.xenVcpuSetAttr({ type: 'VCPU_INFO', gpa: 0x11000n })

// A Vm is a RoutingKernel: setGsiRouting(bytes) and irqfd({ fd, gsi, deassign, resampleFd })
const table = new RoutingTable(vm, { maxRoutes: kvm.checkExtension(abi.Cap.IRQ_ROUTING) })
const gsi = table.allocateGsi() // 24: the lowest GSI above the legacy irqchip range
table.add({ gsi, type: 'xenEvtchn', port: 3, vcpu: 0 })
const eventfd = EventFd.create()
table.attachIrqfd(gsi, eventfd.fd) // waits until KVM has the route
table.commit() // KVM_SET_GSI_ROUTING with all 41 routes, then KVM_IRQFD

eventfd.write(1n) // a device backend signals; the kernel sets the pending bit, no VMM work
// 64-bit shared_info: evtchn_pending at +0x800, port 3 is bit 3 of its first byte
const pending = () => (new Uint8Array(ram.buffer)[0x10000 + 0x800] >> 3) & 1
for (let i = 0; i < 500 && !pending(); i++) await new Promise((r) => setTimeout(r, 10))
console.log(`port 3 pending: ${pending()}`)

table.releaseGsi(gsi)
table.commit() // deassigns the irqfd first, then sends the table without the route
console.log(`routes: ${table.size}, irqfds: ${table.irqfds().length}`)
eventfd.close()
vm.close()
kvm.close()
