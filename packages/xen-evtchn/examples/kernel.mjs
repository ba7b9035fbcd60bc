// Event channels delivered by the kernel: run with /dev/kvm, or on this machine kind with
// `pnpm kvm-host -- node packages/xen-evtchn/examples/kernel.mjs`.
import { GuestMemory } from '@tsvmm/guest-memory'
import { abi, Kvm } from '@tsvmm/kvm-sys'
import { EvtchnEngine } from '@tsvmm/xen-evtchn'
import { KvmEvtchn, sameThreadVcpus } from '@tsvmm/xen-evtchn/kvm'

const kvm = Kvm.open()
const vm = kvm.createVm()
const region = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x100000 })
vm.createIrqchip() // GSI routes and irqfds need the in-kernel irqchip
vm.xenHvmConfig({
  flags: abi.KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL | abi.KVM_XEN_HVM_CONFIG_EVTCHN_SEND,
  msr: 0x40000000,
})
const vcpus = [vm.createVcpu(0), vm.createVcpu(1)]
const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(region.buffer) }])
const engine = new EvtchnEngine({ memory, vcpus: 2, notify: (v) => vcpus[v]?.kick() })

// The vCPUs run on this thread (a threaded VMM passes its own vCPU port instead).
const evtchn = new KvmEvtchn({ engine, vm, vcpus: sameThreadVcpus(vcpus) })
console.log('in kernel:', evtchn.inKernel)
evtchn.setSharedInfo(0x10000) // engine + KVM_XEN_ATTR_TYPE_SHARED_INFO
evtchn.setVcpuInfo(0, 0x10000) // engine + KVM_XEN_VCPU_ATTR_TYPE_VCPU_INFO
evtchn.setVcpuInfo(1, 0x10040)
evtchn.setUpcallVector(0xf3)

evtchn.setPending(5, 1) // KVM_XEN_HVM_EVTCHN_SEND
console.log('port 5 pending:', engine.portInfo(5).pending, 'vCPU 1 upcall:', memory.readU8(0x10040))

// A backend port: the device raises it through an irqfd route, with no userspace work.
const port = engine.backendAllocUnbound(0)
evtchn.backendBind(port, (p) => console.log(`guest sent on ${p}`))
evtchn.backendNotifyFd(port)?.write(1)
console.log(`port ${port} pending:`, engine.portInfo(port).pending)
// The guest's sends the kernel took reach onSend on the event loop's next turn (the offload
// watches their eventfds); pollBackends() takes them at once, for a caller that cannot wait.
evtchn.pollBackends()

evtchn.close()
vm.close()
kvm.close()
