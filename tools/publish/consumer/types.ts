// Type-checked in the consumer folder (not run): every entry point's types resolve through the
// installed packages, with the same strict settings a VMM author would use.
import { GuestMemory, GuestMemoryError } from '@tsvmm/guest-memory'
import { encodeRouting, type RoutingEntry, RoutingError } from '@tsvmm/irq-routing'
import { isKvmError, Kvm, KvmError, type Vm } from '@tsvmm/kvm-sys'
import { KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL } from '@tsvmm/kvm-sys/abi'
import { EvtchnEngine } from '@tsvmm/xen-evtchn'
import { KvmEvtchn } from '@tsvmm/xen-evtchn/kvm'
import { XenstoreError, XenstoreServer } from '@tsvmm/xenstore'

const route: RoutingEntry = {
  gsi: 25,
  type: 'xenEvtchn',
  port: 3,
  vcpu: 0,
  priority: KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL,
}
const bytes: Uint8Array = encodeRouting([route])
const memory = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x1000) }])
const engine = new EvtchnEngine({ memory, vcpus: 1, notify: (vcpu: number) => void vcpu })
const delivered: number = engine.setPending(1, 0)
const store = new XenstoreServer({ domid: 1, ring: new Uint8Array(4096), notify: () => {} }).store
const more: boolean = new XenstoreServer({
  domid: 2,
  ring: new Uint8Array(4096),
  notify() {},
  store,
}).process()

export function open(path: string): Vm | string {
  try {
    return Kvm.open(path).createVm()
  } catch (e) {
    if (e instanceof KvmError || isKvmError(e)) return `${e.code} ${e.hint ?? ''}`
    if (e instanceof RoutingError || e instanceof GuestMemoryError) return e.message
    if (e instanceof XenstoreError) return `${e.code} ${e.errno}`
    throw e
  }
}
export const used = [bytes.byteLength, delivered, typeof KvmEvtchn, more]
