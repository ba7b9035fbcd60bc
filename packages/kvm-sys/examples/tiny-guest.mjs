// Boots a tiny real-mode guest that prints "Hi" on port 0x3f8 and halts.
// Run it where /dev/kvm exists: `pnpm kvm-host -- node packages/kvm-sys/examples/tiny-guest.mjs`
import { abi, Kvm } from '@tsvmm/kvm-sys'

const kvm = Kvm.open()
const vm = kvm.createVm()
const ram = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 })
// mov dx, 0x3f8; mov al, 'H'; out dx, al; mov al, 'i'; out dx, al; hlt
const code = [0xba, 0xf8, 0x03, 0xb0, 0x48, 0xee, 0xb0, 0x69, 0xee, 0xf4]
new Uint8Array(ram.buffer).set(code, 0x1000)

const vcpu = vm.createVcpu(0)
const sregs = vcpu.getSregs()
sregs.cs = { ...sregs.cs, base: 0n, selector: 0 } // real mode, CS:IP = 0000:1000
vcpu.setSregs(sregs)
vcpu.setRegs({ ...vcpu.getRegs(), rip: 0x1000n, rflags: 0x2n })

let out = ''
for (;;) {
  const reason = vcpu.run()
  if (reason === abi.KVM_EXIT_IO) {
    const io = vcpu.kvmRun.io
    if (io.isOut && io.port === 0x3f8) out += String.fromCharCode(io.data[0] ?? 0)
  } else if (reason === abi.KVM_EXIT_HLT) {
    break
  } else {
    throw new Error(`unexpected exit ${reason}`)
  }
}
console.log(out) // Hi
vm.close()
kvm.close()
