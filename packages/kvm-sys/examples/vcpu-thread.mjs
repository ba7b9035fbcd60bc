// Runs one vCPU per worker thread and stops one from the main thread with kick().
// Run it where /dev/kvm exists: `pnpm kvm-host -- node packages/kvm-sys/examples/vcpu-thread.mjs`
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { abi, Kvm, Vcpu, Vm } from '@tsvmm/kvm-sys'

if (isMainThread) {
  const kvm = Kvm.open()
  const vm = kvm.createVm()
  const ram = vm.addMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 })
  // l: inc word [0x2000]; jmp l   (a guest that never exits by itself)
  new Uint8Array(ram.buffer).set([0xff, 0x06, 0x00, 0x20, 0xeb, 0xfa], 0x1000)
  const vcpu = vm.createVcpu(0)
  const sregs = vcpu.getSregs()
  for (const s of ['cs', 'ds', 'es', 'ss']) sregs[s] = { ...sregs[s], base: 0n, selector: 0 }
  vcpu.setSregs(sregs)
  vcpu.setRegs({ ...vcpu.getRegs(), rip: 0x1000n, rflags: 0x2n })

  // The worker attaches to the VM and the vCPU by handle and runs it on its own thread.
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { vm: vm.handle, vcpu: vcpu.handle },
  })
  worker.on('message', (m) => {
    if (m === 'running')
      setTimeout(() => vcpu.kick(), 100) // from the main thread
    else {
      console.log(`vCPU ${vcpu.id} left KVM_RUN: ${m}`)
      vm.close()
      kvm.close()
    }
  })
} else {
  const vcpu = Vcpu.fromHandle(workerData.vcpu)
  const counter = new Uint16Array(Vm.fromHandle(workerData.vm).memoryRegions()[0].buffer, 0x2000, 1)
  parentPort.postMessage('running')
  const reason = vcpu.run() // blocks this thread only
  const name = reason === abi.KVM_EXIT_INTR ? 'KVM_EXIT_INTR (kicked)' : `exit ${reason}`
  parentPort.postMessage(`${name}, guest counter ${counter[0]}`)
}
